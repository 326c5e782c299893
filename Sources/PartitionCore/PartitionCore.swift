import LibvirtKit
