import Glibc
import PartitionModel

/// The rtnetlink operations the WPAR network needs, each one request and its acknowledgement.
extension NetlinkSocket {
    struct Link {
        var index: Int32
        var flags: UInt32
        /// IFLA_INFO_KIND: "bridge", "veth", …; nil for devices without link info (lo, physical NICs).
        var kind: String?
    }

    /// The link called `name` in this socket's namespace, or nil when there is none.
    func link(named name: String) throws(PartitionError) -> Link? {
        var request = NetlinkRequest(type: Netlink.getLink, flags: 0, header: Netlink.interfaceHeader())
        request.attribute(Netlink.linkName, string: name)
        let replies: [NetlinkReply]
        do { replies = try perform(request) } catch {
            if error.code == ENODEV { return nil }
            throw error.error("look up the network interface \(name)")
        }
        guard let reply = replies.first(where: { $0.type == Netlink.newLink }),
              let index = Netlink.integer(Int32.self, in: reply.payload, at: 4),
              let flags = Netlink.integer(UInt32.self, in: reply.payload, at: 8) else { return nil }
        let attributes = NetlinkReply.attributes(in: reply.payload.dropFirst(16))
        let info = attributes[Netlink.linkInfo].map { NetlinkReply.attributes(in: $0) }
        return Link(index: index, flags: flags, kind: NetlinkReply.string(info?[Netlink.infoKind]))
    }

    /// Creates a veth pair: `name` here, up and enslaved to `master`; its peer `peerName` made
    /// directly in the network namespace of `peerNamespacePid` (and left down), with the MAC address
    /// `peerAddress` when given (a managed network's DHCP reservation is made for it).
    func createVethPair(name: String, master: Int32, peerName: String, peerNamespacePid: pid_t,
                        peerAddress: [UInt8]? = nil) throws(PartitionError) {
        var request = NetlinkRequest(type: Netlink.newLink, flags: Netlink.create | Netlink.exclusive,
                                     header: Netlink.interfaceHeader(flags: Netlink.interfaceUp, change: Netlink.interfaceUp))
        request.attribute(Netlink.linkName, string: name)
        request.attribute(Netlink.linkMaster, uint32: UInt32(bitPattern: master))
        request.nest(Netlink.linkInfo) { info in
            info.attribute(Netlink.infoKind, string: "veth")
            info.nest(Netlink.infoData) { data in
                // The peer cannot be set up here: while it is configured its other end does not
                // exist yet, and veth refuses to open without one (ENOTCONN).
                data.nest(Netlink.vethPeer, header: Netlink.interfaceHeader()) { peer in
                    peer.attribute(Netlink.linkName, string: peerName)
                    peer.attribute(Netlink.linkNamespacePid, uint32: UInt32(bitPattern: peerNamespacePid))
                    if let peerAddress { peer.attribute(Netlink.linkAddress, peerAddress) }
                }
            }
        }
        do { _ = try perform(request) } catch {
            throw error.error("create the veth pair \(name) (peer \(peerName) in the namespace of process \(peerNamespacePid))")
        }
    }

    /// Sets the link called `name` up.
    func setLinkUp(named name: String) throws(PartitionError) {
        var request = NetlinkRequest(type: Netlink.newLink, flags: 0,
                                     header: Netlink.interfaceHeader(flags: Netlink.interfaceUp, change: Netlink.interfaceUp))
        request.attribute(Netlink.linkName, string: name)
        do { _ = try perform(request) } catch { throw error.error("bring the network interface \(name) up") }
    }

    func addAddress(_ prefix: IPAddressPrefix, toLink index: Int32) throws(PartitionError) {
        var request = NetlinkRequest(type: Netlink.newAddress, flags: Netlink.create | Netlink.exclusive,
                                     header: Netlink.addressHeader(family: prefix.address.family, prefixLength: UInt8(prefix.length), index: index))
        request.attribute(Netlink.addressLocal, prefix.address.bytes)
        request.attribute(Netlink.addressAddress, prefix.address.bytes)
        do { _ = try perform(request) } catch { throw error.error("add the address \(prefix) to interface \(index)") }
    }

    func addDefaultRoute(via gateway: IPAddress, link index: Int32) throws(PartitionError) {
        var request = NetlinkRequest(type: Netlink.newRoute, flags: Netlink.create | Netlink.exclusive,
                                     header: Netlink.routeHeader(family: gateway.family, destinationLength: 0))
        request.attribute(Netlink.routeGateway, gateway.bytes)
        request.attribute(Netlink.routeOutputInterface, uint32: UInt32(bitPattern: index))
        do { _ = try perform(request) } catch { throw error.error("add the default route via \(gateway)") }
    }

    /// Deletes the link called `name`; false when there was none.
    @discardableResult
    func deleteLink(named name: String) throws(PartitionError) -> Bool {
        var request = NetlinkRequest(type: Netlink.deleteLink, flags: 0, header: Netlink.interfaceHeader())
        request.attribute(Netlink.linkName, string: name)
        do { _ = try perform(request) } catch {
            if error.code == ENODEV { return false }
            throw error.error("delete the network interface \(name)")
        }
        return true
    }
}
