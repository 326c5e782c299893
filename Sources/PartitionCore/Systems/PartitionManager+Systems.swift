import PartitionModel

/// `tree` and `query` over every managed system (docs/systems.md).
extension PartitionManager {
    /// The systems `tree` and `query` span: every registered one when the user chose none (no -m,
    /// no --connect) and more than `local` is registered; nil: this command's one system.
    public func spannedSystems() throws(PartitionError) -> [ManagedSystem]? {
        guard !configuration.systemChosen else { return nil }
        let systems = try SystemRegistry(configuration: configuration).list()
        return systems.count > 1 ? systems : nil
    }

    /// Each system's tree, in the registry's order (local first). Systems connect in parallel, each
    /// once; one that does not connect within `$PARTCTL_SYSTEM_TIMEOUT` seconds (10) or refuses
    /// is `unavailable` with the reason, and the others are shown whole.
    public func systemTrees(_ systems: [ManagedSystem]) -> [PartitionRecord] {
        let configuration = self.configuration
        let timeout = SystemFanOut.connectTimeout(configuration)
        return SystemFanOut.map(systems, timeout: timeout, { system, connected in
            let manager = PartitionManager(configuration: configuration.on(system))
            var failure: PartitionError?
            do throws(PartitionError) { _ = try manager.libvirt() } catch { failure = error }
            connected()
            return TreeBuilder(manager: manager).build(openFailure: failure).onSystem(system.name)
        }, late: { system in
            PartitionRecord.unavailableSystem(system.name, reason: "\(system.uri) did not answer within \(FieldValue.format(timeout)) s")
        })
    }

    /// The `system` field of this command's records: its system's name, null for a raw URI.
    var systemField: String? { configuration.systemName }
}
