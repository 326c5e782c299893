#!/usr/bin/env python3
"""Writes a libvirt test-driver node file (test:///PATH) with N domains, half of them carrying
partctl's metadata as `partctl define` writes it, so that `tree` does its full work per domain."""
import json
import sys
from xml.sax.saxutils import escape, quoteattr

count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
profile = {
    "name": "lpar-minimal", "kind": "lpar",
    "lpar": {"memory": {"min": "128MiB", "desired": "256MiB", "max": "512MiB"},
             "processors": {"min": 1, "desired": 1, "max": 2}},
}
with open(sys.argv[1], "w") as out:
    out.write("<node>\n")
    for i in range(count):
        managed = i % 2 == 0
        meta = ""
        if managed:
            meta = ("<metadata><partctl:partition xmlns:partctl='http://partctl.org/xmlns/partition/1' "
                    "version='1' accel='tcg'><partctl:profile name='lpar-minimal'>%s</partctl:profile>"
                    "</partctl:partition></metadata>" % escape(json.dumps(profile)))
        out.write("<domain type='test'><name>bench-%04d</name>%s<memory unit='KiB'>524288</memory>"
                  "<currentMemory unit='KiB'>262144</currentMemory><vcpu current='1'>2</vcpu>"
                  "<os><type arch='x86_64'>hvm</type></os></domain>\n" % (i, meta))
    out.write("</node>\n")
