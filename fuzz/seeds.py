#!/usr/bin/env python3
"""Writes the small seed corpus of the elf_check target (fuzz/corpus/elf_check/):
tiny ELF files built here (valid static and dynamic ones, and broken ones) and
#! lines. Run from anywhere: python3 fuzz/seeds.py."""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "elf_check")
PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_PHDR, PT_GNU_STACK = 1, 2, 3, 6, 0x6474E551
ET_EXEC, ET_DYN, EM_X86_64, EM_AARCH64 = 2, 3, 62, 183
EXIT_42 = bytes([0xB8, 60, 0, 0, 0, 0xBF, 42, 0, 0, 0, 0x0F, 0x05])


def elf(etype=ET_EXEC, machine=EM_X86_64, interp=None, phentsize=56, phnum=None, phoff=64, extra=()):
    """One PT_LOAD over the whole file, an optional PT_INTERP (bytes, NUL
    included) and extra (type, offset, vaddr, size) headers."""
    base = 0 if etype == ET_DYN else 0x400000
    heads = [(PT_PHDR, 64, base + 64, 0)] if interp else []
    heads += [(PT_INTERP, 0, 0, 0)] if interp else []
    heads += list(extra) + [(PT_LOAD, 0, base, 0)]
    interp_at = 64 + 56 * len(heads)
    code_at = (interp_at + len(interp or b"") + 15) & ~15
    total = code_at + len(EXIT_42)
    ph = b""
    for ty, off, vaddr, size in heads:
        if ty == PT_PHDR:
            off, size = 64, 56 * len(heads)
        if ty == PT_INTERP:
            off, vaddr, size = interp_at, base + interp_at, len(interp)
        if ty == PT_LOAD:
            size = total
        flags = 5 if ty == PT_LOAD else 4
        ph += struct.pack("<IIQQQQQQ", ty, flags, off, vaddr, vaddr, size, size, 0x1000 if ty == PT_LOAD else 8)
    hdr = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    hdr += struct.pack("<HHIQQQIHHHHHH", etype, machine, 1, base + code_at, phoff, 0, 0, 64, phentsize,
                       len(heads) if phnum is None else phnum, 64, 0, 0)
    body = hdr + ph + (interp or b"")
    return body + bytes(code_at - len(body)) + EXIT_42


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {
        "static": elf(),
        "static-pie": elf(etype=ET_DYN),
        "dynamic": elf(etype=ET_DYN, interp=b"/lib64/ld-linux-x86-64.so.2\0",
                       extra=[(PT_DYNAMIC, 0, 0, 0), (PT_GNU_STACK, 0, 0, 0)]),
        "interp-no-nul": elf(interp=b"/lib/ld-musl-x86_64.so.1"),
        "phoff-past-end": elf(phoff=1 << 20),
        "phnum-absurd": elf(phnum=0xFFFF),
        "phentsize-32": elf(phentsize=32),
        "aarch64": elf(machine=EM_AARCH64),
        "truncated-header": elf()[:40],
        "empty": b"",
        "script": b"#!/bin/sh -e\necho hi\n",
        "script-nul": b"#! /usr/bin/env\0python3\n",
    }
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
