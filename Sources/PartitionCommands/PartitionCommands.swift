import PartitionCore
public enum PartctlMain { public static func run() {} }
