#!/usr/bin/env python3
"""Captures real agent protocol exchanges as seeds for FuzzAgentFrames: starts partagent on a Unix
socket with private state directories, sends the requests below (as AgentCodec writes them: compact,
sorted keys), and writes each request with the agent's real reply to fuzz/corpus/agent-frames/.
Defines only an application WPAR it never starts, so it needs no root, cgroups or lock.

    python3 fuzz/capture-agent-frames.py .build/debug/partagent
"""
import json, os, shutil, socket, subprocess, sys, tempfile, time

partagent = os.path.abspath(sys.argv[1])
out = os.path.abspath("fuzz/corpus/agent-frames")
work = tempfile.mkdtemp(prefix="ptest-fuzzcap-")
sock = os.path.join(work, "agent.sock")
agent = subprocess.Popen([partagent, "--socket", sock], stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env={"PARTCTL_ROOT": work + "/definitions", "PARTCTL_RUNTIME_ROOT": work + "/runtime",
                              "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
try:
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    f = s.makefile("rwb")
    spec = {"name":"ptest-fz","type":"application","root":{"host":{}},"sharedPaths":[],"mounts":[],"command":["/bin/sh","-c","echo hi"],
            "environment":["PATH=/usr/bin:/bin"],"workingDirectory":"/","hostname":"fz","capabilities":["kill"],
            "network":{"none":{}},"limits":{"cpuWeight":100,"memoryMax":67108864,"pidsMax":32},"console":False,"stopSignal":15,"openFileLimit":1024}
    reqs = [
     ("hello", {"protocolVersion":3}), ("sync", {"token":"q7w1e9"}), ("wpar.list", {}), ("wpar.statuses", {}),
     ("wpar.define", {"name":"ptest-fz","spec":spec,"replace":False}),
     ("wpar.define", {"name":"ptest-fz","spec":spec,"replace":False}),
     ("wpar.status", {"name":"ptest-fz"}), ("wpar.statuses", {}), ("wpar.list", {}),
     ("wpar.modify", {"name":"ptest-fz","limits":{"memoryMax":33554432},"live":False,"persistent":True}),
     ("wpar.exec", {"name":"ptest-fz","argv":["/bin/true"]}),
     ("wpar.attach", {"name":"ptest-fz","mode":"login","argv":["/bin/sh"],"terminal":True,"rows":24,"columns":80}),
     ("wpar.shutdown", {"name":"ptest-fz","within":1,"force":True}),
     ("wpar.status", {"name":"nothere"}), ("wpar.define", {"name":"Bad Name","spec":{},"replace":False}),
     ("wpar.define", {"name":"ptest-fz2","spec":{"name":"ptest-fz2","bogus":1},"replace":False}),
     ("wpar.remove", {"name":"ptest-fz","force":True}), ("wpar.list", {}),
    ]
    n = 0
    def exchange(line, tag):
        global n
        n += 1
        f.write(line + b"\n"); f.flush()
        reply = f.readline()
        open(f"{out}/seed-real-{n:02d}-{tag}", "wb").write(line + b"\n" + reply)
        print(tag, reply[:160])
    for i, (op, args) in enumerate(reqs):
        line = json.dumps({"args":args,"id":100+i,"op":op,"v":3}, separators=(",",":"), sort_keys=True).encode()
        exchange(line, op.replace(".","-"))
    for tag, line in [("badjson", b'{"id":5,"op":'), ("unknown-op", b'{"args":{},"id":6,"op":"wpar.explode","v":3}'),
                      ("v1", b'{"args":{"protocolVersion":1},"id":7,"op":"hello"}'), ("extra", b'{"args":{},"id":8,"op":"wpar.list","v":3,"x":1}')]:
        exchange(line, tag)
finally:
    agent.kill()
    agent.wait()
    shutil.rmtree(work, ignore_errors=True)
