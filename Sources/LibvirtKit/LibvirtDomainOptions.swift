import CLibvirt

/// Which definition a read looks at: the running domain's, the persistent one, or whichever applies now.
public enum LibvirtScope: Sendable, Hashable {
    case current
    case live
    case config

    var flags: UInt32 {
        switch self {
        case .current: return VIR_DOMAIN_AFFECT_CURRENT.rawValue
        case .live: return VIR_DOMAIN_AFFECT_LIVE.rawValue
        case .config: return VIR_DOMAIN_AFFECT_CONFIG.rawValue
        }
    }
}

/// The `virDomainModificationImpact` flags of a change: the running domain, the persistent
/// definition, both, or (neither) whichever applies now.
func modificationFlags(live: Bool, config: Bool) -> UInt32 {
    (live ? VIR_DOMAIN_AFFECT_LIVE.rawValue : 0) | (config ? VIR_DOMAIN_AFFECT_CONFIG.rawValue : 0)
}

/// What virDomainGetXMLDesc includes.
public struct LibvirtDomainXMLFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Include security-sensitive values such as passwords.
    public static let secure = LibvirtDomainXMLFlags(rawValue: VIR_DOMAIN_XML_SECURE.rawValue)
    /// The persistent definition rather than the running one.
    public static let inactive = LibvirtDomainXMLFlags(rawValue: VIR_DOMAIN_XML_INACTIVE.rawValue)
    /// Suitable for migration to another host.
    public static let migratable = LibvirtDomainXMLFlags(rawValue: VIR_DOMAIN_XML_MIGRATABLE.rawValue)
}

/// How a graceful shutdown or a reboot asks the guest.
public enum LibvirtShutdownMode: Sendable, Hashable {
    /// Press the ACPI power button; the guest OS decides what to do.
    case acpiPowerButton
    /// Whatever the hypervisor prefers (the only mode some drivers, e.g. the test driver, accept).
    case hypervisorDefault
    /// Ask the QEMU guest agent.
    case guestAgent

    var shutdownFlags: UInt32 {
        switch self {
        case .acpiPowerButton: return VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN.rawValue
        case .hypervisorDefault: return VIR_DOMAIN_SHUTDOWN_DEFAULT.rawValue
        case .guestAgent: return VIR_DOMAIN_SHUTDOWN_GUEST_AGENT.rawValue
        }
    }

    var rebootFlags: UInt32 {
        switch self {
        case .acpiPowerButton: return VIR_DOMAIN_REBOOT_ACPI_POWER_BTN.rawValue
        case .hypervisorDefault: return VIR_DOMAIN_REBOOT_DEFAULT.rawValue
        case .guestAgent: return VIR_DOMAIN_REBOOT_GUEST_AGENT.rawValue
        }
    }
}
