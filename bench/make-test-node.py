#!/usr/bin/env python3
"""Writes a libvirt test-driver node file (test:///PATH) with N domains, half of them carrying
partctl's metadata exactly as `partctl define` wrote it for a real domain (argument 3, the output of
`virsh metadata DOMAIN URI`), so that `tree` does its full work per domain."""
import sys

count = int(sys.argv[2])
real_metadata = open(sys.argv[3]).read().strip()
with open(sys.argv[1], "w") as out:
    out.write("<node>\n")
    for i in range(count):
        managed = i % 2 == 0
        meta = ""
        if managed:
            meta = "<metadata>%s</metadata>" % real_metadata
        out.write("<domain type='test'><name>bench-%04d</name>%s<memory unit='KiB'>524288</memory>"
                  "<currentMemory unit='KiB'>262144</currentMemory><vcpu current='1'>2</vcpu>"
                  "<os><type arch='x86_64'>hvm</type></os></domain>\n" % (i, meta))
    out.write("</node>\n")
