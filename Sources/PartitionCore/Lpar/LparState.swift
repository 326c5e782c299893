import LibvirtKit
import PartitionModel

extension PartitionState {
    /// libvirt's domain state in partctl's words (DESIGN §3).
    init(libvirt state: LibvirtDomainState) {
        switch state {
        case .running, .blocked: self = .running
        case .paused, .pmSuspended: self = .paused
        case .shutdown: self = .stopping
        case .shutoff: self = .defined
        case .crashed: self = .error
        case .noState, .unknown: self = .unavailable
        }
    }
}
