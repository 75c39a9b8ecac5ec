/**
 * The python3 relay behind {@link servePty}: opens a pty, makes the slave raw, prints the slave's
 * path on stderr, and relays master ⇄ stdin/stdout with bounded buffers. It keeps its own slave fd
 * open so the host can close and reopen the port without the master seeing a hang-up. Embedded as a
 * string because tsc does not copy .py files to dist/.
 */
export const PTY_HELPER_SOURCE = String.raw`
import os, pty, tty, sys, select, signal
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
m, s = pty.openpty()
tty.setraw(s)
os.set_blocking(m, False)
fin = sys.stdin.fileno()
fout = sys.stdout.fileno()
os.set_blocking(fin, False)
os.set_blocking(fout, False)
sys.stderr.write(os.ttyname(s) + "\n")
sys.stderr.flush()
LIMIT = 1 << 16
to_master = bytearray()
to_out = bytearray()
while True:
    r = []
    w = []
    if len(to_master) < LIMIT:
        r.append(fin)
    if len(to_out) < LIMIT:
        r.append(m)
    if to_master:
        w.append(m)
    if to_out:
        w.append(fout)
    rr, ww, _ = select.select(r, w, [])
    if fin in rr:
        try:
            d = os.read(fin, 65536)
        except BlockingIOError:
            d = None
        if d == b"":
            os._exit(0)
        if d:
            to_master += d
    if m in rr:
        try:
            d = os.read(m, 65536)
        except (BlockingIOError, OSError):
            d = None
        if d:
            to_out += d
    if m in ww:
        try:
            n = os.write(m, to_master)
            del to_master[:n]
        except BlockingIOError:
            pass
    if fout in ww:
        try:
            n = os.write(fout, to_out)
            del to_out[:n]
        except BlockingIOError:
            pass
        except BrokenPipeError:
            os._exit(0)
`;
