"""Writes the linker script that places the runtime code a task runs first
together at the start of the text (mactux-cli/text-order.ld).

usage: generate.py LINK-MAP BINARY OUT OFFSETS...

LINK-MAP is the linker's map of BINARY (lld's format, `-Wl,-Map=`); each
OFFSETS file lists file offsets of executed instructions in first-run
order (scripts/text-order/stepper.c). The input sections that hold them are
written in that order, as patterns that survive a rebuild: the hash that
Rust puts in a symbol's name (it changes with the build profile and the
compiler) and the crate disambiguators of v0 names become wildcards, and a
C function is named by its archive member.
"""
import bisect
import re
import struct
import sys


def text_delta(binary):
    """vaddr - file offset of the executable PT_LOAD segment."""
    with open(binary, "rb") as f:
        data = f.read(1 << 16)
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        p_type, p_flags, p_offset, p_vaddr = struct.unpack_from("<IIQQ", data, phoff + i * phentsize)
        if p_type == 1 and p_flags & 1:
            return p_vaddr - p_offset
    sys.exit("no executable segment in " + binary)


LINE = re.compile(r"^\s*([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+\s+(\S.*)$")


def input_sections(link_map):
    """(start, end, file, section) of every executable input section."""
    out = []
    for line in open(link_map, errors="replace"):
        m = LINE.match(line)
        if not m:
            continue
        start, size, rest = int(m.group(1), 16), int(m.group(2), 16), m.group(3)
        if not rest.endswith(")") or ":(" not in rest:
            continue
        file, section = rest[:-1].rsplit(":(", 1)
        if section == ".text" or section.startswith(".text."):
            out.append((start, start + size, file, section))
    out.sort()
    return out


def pattern(file, section):
    """A pattern for the input section that matches it in a rebuild."""
    if section.startswith(".text._ZN") or section.startswith(".text._R"):
        name = re.sub(r"17h[0-9a-f]{16}E", "17h*E", section)
        name = re.sub(r"\.llvm\.\d+$", "*", name)
        name = re.sub(r"Cs[0-9A-Za-z]+_", "Cs*_", name)
        if not name.endswith("*"):
            name += "*"
        return "*(" + name + ")"
    m = re.match(r".*/([^/]+\.a)\(([^)]+)\)$", file)
    if m:
        return "*%s:%s(%s)" % (m.group(1), m.group(2), section)
    m = re.match(r".*/([^/()]+\.o)$", file)
    if m and not m.group(1).endswith(".rcgu.o"):
        return "*%s(%s)" % (m.group(1), section)
    # A named section of a Rust object (global_asm's, or an unmangled fn).
    return "*(" + section + ")"


def main():
    link_map, binary, out_path = sys.argv[1:4]
    delta = text_delta(binary)
    secs = input_sections(link_map)
    starts = [s[0] for s in secs]
    order, seen = [], set()
    for path in sys.argv[4:]:
        for line in open(path):
            addr = int(line, 16) + delta
            i = bisect.bisect_right(starts, addr) - 1
            if i < 0 or not (secs[i][0] <= addr < secs[i][1]):
                continue
            p = pattern(secs[i][2], secs[i][3])
            if p not in seen:
                seen.add(p)
                order.append((p, secs[i][1] - secs[i][0]))
    with open(out_path, "w") as f:
        f.write("/* Made by scripts/text-order.sh: do not edit by hand. The runtime code a\n")
        f.write(" * task's start-up and common calls run, in the order it first runs, placed\n")
        f.write(" * together before the rest of the text (docs/architecture.md, \"Code\n")
        f.write(" * layout\"). %d input sections, %d bytes. */\n" % (len(order), sum(s for _, s in order)))
        f.write("SECTIONS\n{\n  .text.mactux_hot :\n  {\n")
        for p, _ in order:
            f.write("    %s\n" % p)
        f.write("  }\n}\nINSERT BEFORE .text;\n")
    print("%d sections, %d KiB" % (len(order), sum(s for _, s in order) >> 10))


main()
