import CLibvirt
import PartitionModel

/// The value of one libvirt typed parameter (`virTypedParameter`).
public enum LibvirtTypedValue: Sendable, Hashable {
    case int32(Int32)
    case uint32(UInt32)
    case int64(Int64)
    case uint64(UInt64)
    case double(Double)
    case bool(Bool)
    case string(String)

    /// The value as a signed 64-bit integer, when it is an integer that fits.
    public var int64Value: Int64? {
        switch self {
        case .int32(let value): return Int64(value)
        case .uint32(let value): return Int64(value)
        case .int64(let value): return value
        case .uint64(let value): return Int64(exactly: value)
        case .double, .bool, .string: return nil
        }
    }

    /// The value as an unsigned 64-bit integer, when it is an integer that fits.
    public var uint64Value: UInt64? {
        switch self {
        case .int32(let value): return UInt64(exactly: value)
        case .uint32(let value): return UInt64(value)
        case .int64(let value): return UInt64(exactly: value)
        case .uint64(let value): return value
        case .double, .bool, .string: return nil
        }
    }

    /// Reads one parameter; nil for a type this libvirt does not define.
    init?(_ parameter: virTypedParameter) {
        switch virTypedParameterType(rawValue: UInt32(bitPattern: parameter.type)) {
        case VIR_TYPED_PARAM_INT: self = .int32(parameter.value.i)
        case VIR_TYPED_PARAM_UINT: self = .uint32(parameter.value.ui)
        case VIR_TYPED_PARAM_LLONG: self = .int64(parameter.value.l)
        case VIR_TYPED_PARAM_ULLONG: self = .uint64(parameter.value.ul)
        case VIR_TYPED_PARAM_DOUBLE: self = .double(parameter.value.d)
        case VIR_TYPED_PARAM_BOOLEAN: self = .bool(parameter.value.b != 0)
        case VIR_TYPED_PARAM_STRING: self = .string(parameter.value.s.map { String(cString: $0) } ?? "")
        default: return nil
        }
    }

    /// Reads a whole parameter array into a dictionary keyed by field name.
    static func dictionary(
        _ parameters: UnsafeMutablePointer<virTypedParameter>?, count: Int32
    ) -> [String: LibvirtTypedValue] {
        guard let parameters else { return [:] }
        var values: [String: LibvirtTypedValue] = [:]
        for parameter in UnsafeBufferPointer(start: parameters, count: Int(count)) {
            if let value = LibvirtTypedValue(parameter) {
                values[stringFromCharArray(parameter.field)] = value
            }
        }
        return values
    }
}

/// A parameter array built for a call and freed afterwards (virTypedParamsAdd*, virTypedParamsFree).
final class TypedParameterList {
    private(set) var parameters: virTypedParameterPtr?
    private(set) var count: Int32 = 0
    private var capacity: Int32 = 0

    init(_ values: [String: LibvirtTypedValue]) throws(PartitionError) {
        for (name, value) in values.sorted(by: { $0.key < $1.key }) {
            try add(name, value)
        }
    }

    deinit {
        virTypedParamsFree(parameters, count)
    }

    private func add(_ name: String, _ value: LibvirtTypedValue) throws(PartitionError) {
        try LibvirtCall.run("virTypedParamsAdd") {
            switch value {
            case .int32(let value): return virTypedParamsAddInt(&parameters, &count, &capacity, name, value)
            case .uint32(let value): return virTypedParamsAddUInt(&parameters, &count, &capacity, name, value)
            case .int64(let value): return virTypedParamsAddLLong(&parameters, &count, &capacity, name, value)
            case .uint64(let value): return virTypedParamsAddULLong(&parameters, &count, &capacity, name, value)
            case .double(let value): return virTypedParamsAddDouble(&parameters, &count, &capacity, name, value)
            case .bool(let value): return virTypedParamsAddBoolean(&parameters, &count, &capacity, name, value ? 1 : 0)
            case .string(let value): return virTypedParamsAddString(&parameters, &count, &capacity, name, value)
            }
        }
    }
}
