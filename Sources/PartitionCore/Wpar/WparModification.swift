import PartitionModel

/// What a WPAR `modify` changes, host or nested alike: `--live` the running WPAR, `--config` its
/// definition, neither flag both (the running WPAR only when it runs). Only resource limits may
/// change live; anything else needs the definition and the next activation.
struct WparModification {
    let live: Bool
    let config: Bool

    init(from old: WparProfile, to new: WparProfile, running: Bool, live: Bool, config: Bool) throws(PartitionError) {
        self.live = live || (!live && !config && running)
        self.config = config || (!live && !config)
        if self.live && !running {
            throw PartitionError(.invalidState, "The WPAR is not running; drop --live to change only its definition.")
        }
        // A running WPAR keeps the image it started on; its definition naming another would let
        // `image remove` take the tree from under it.
        if running && new.image != old.image {
            throw PartitionError(.invalidState, "The image of a running WPAR cannot change; shut it down first.")
        }
        // Its address stays leased while it runs on it: the network changes while it is stopped.
        if running && new.network != old.network {
            throw PartitionError(.invalidState, "The network of a running WPAR cannot change; shut it down first.")
        }
        var sameLimits = new
        sameLimits.resources = old.resources
        if self.live && sameLimits != old {
            throw PartitionError(.invalidArgument,
                "Only cpu_weight, cpu_max, memory_high, memory_max and pids_max change on a running WPAR; use --config for the rest.")
        }
    }
}
