// LibvirtKit: safe Swift over libvirt (being written).
