#!/bin/sh
# Writes the profile fuzzer's seed corpus from the shipped profiles: each profile followed by the
# profiles it extends, each after a `#@ NAME` line (the fuzzer's file separator, see
# fuzz/Sources/FuzzProfiles/FuzzProfileInput.swift). Run from the repository's root.
set -eu
out=fuzz/corpus/profiles
mkdir -p "$out"
for file in profiles/*.yaml; do
    name=$(basename "$file" .yaml)
    {
        cat "$file"
        current=$file
        while base=$(sed -n 's/^extends:[[:space:]]*\([a-z0-9_-]*\).*/\1/p' "$current") && [ -n "$base" ]; do
            printf '\n#@ %s\n' "$base"
            cat "profiles/$base.yaml"
            current=profiles/$base.yaml
        done
    } >"$out/seed-$name"
done
# An abstract base as `profile show` reads it.
{ printf '#abstract\n'; cat profiles/lpar-base.yaml; } >"$out/seed-abstract-lpar-base"
# Overrides as `define -i` applies them.
{ printf '#-i desired_mem=384MiB,max_procs=2,cap=0.5\n'; cat "$out/seed-lpar-minimal"; } >"$out/seed-overrides-lpar"
{ printf '#-i memory_max=128MiB,cpu_max=0.25,pids_max=16,hostname=web\n'; cat "$out/seed-wpar-system"; } >"$out/seed-overrides-wpar"
