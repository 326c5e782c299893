import CYaml
import PartitionModel

/// Refuses mapping keys that are not plain scalars before Yams composes the document.
///
/// Yams checks each mapping for duplicate keys by hashing the key nodes, and a key that is an alias
/// (or a list or mapping holding one) is hashed through its whole expansion: eight nested aliases
/// of eight items each make a few hundred bytes hash for minutes, long before the node limit that
/// bounds values (`ProfileFile.maxNodes`) is reached. So such keys are refused from libyaml's events,
/// which expand nothing. Only a text with `*` can hold an alias; any other text is left alone.
enum ProfileKeyScan {
    /// An open collection, and for a mapping whether its next node is a key or a value.
    private enum Collection {
        case sequence, mappingAtKey, mappingAtValue
    }

    /// The 1-based line of the first mapping key that is an alias, a list or a mapping; nil when there
    /// is none, or when the text does not parse (Yams then reports the malformed YAML).
    static func firstComplexKeyLine(in yaml: String) -> Int? {
        guard yaml.utf8.contains(UInt8(ascii: "*")) else { return nil }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return nil }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(yaml.utf8)
        return bytes.withUnsafeBufferPointer { buffer -> Int? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            var open: [Collection] = []
            var event = yaml_event_t()
            while yaml_parser_parse(&parser, &event) == 1 {
                defer { yaml_event_delete(&event) }
                let type = event.type
                if type == YAML_SCALAR_EVENT || type == YAML_ALIAS_EVENT
                    || type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT, let parent = open.indices.last {
                    switch open[parent] {
                    case .mappingAtKey:
                        if type != YAML_SCALAR_EVENT { return Int(event.start_mark.line) + 1 }
                        open[parent] = .mappingAtValue
                    case .mappingAtValue: open[parent] = .mappingAtKey
                    case .sequence: break
                    }
                }
                switch type {
                case YAML_SEQUENCE_START_EVENT: open.append(.sequence)
                case YAML_MAPPING_START_EVENT: open.append(.mappingAtKey)
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT: _ = open.popLast()
                case YAML_STREAM_END_EVENT: return nil
                default: break
                }
            }
            return nil
        }
    }
}
