// Shared value types of the WPAR engine, as agreed with the spawn helper (WorkloadSpec.swift).
// Placeholder copy so this branch builds on its own; the lead reconciles it with WorkloadSpec.swift.

public struct WorkloadLimits: Codable, Sendable, Hashable { public var cpuWeight: Int?; public var cpuMax: Double? /* CPUs */; public var memoryHigh: UInt64?; public var memoryMax: UInt64?; public var pidsMax: Int? }
public enum WorkloadNetwork: Codable, Sendable, Hashable { case none, loopback, bridge(BridgeAttachment) }
public struct BridgeAttachment: Codable, Sendable, Hashable { public var bridge: String; public var address: String /* CIDR e.g. 10.77.0.2/24 */; public var gateway: String? }
