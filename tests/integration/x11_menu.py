#!/usr/bin/env python3
"""An X11 override-redirect window, as menus and tooltips are: placed by its client at X, Y with
size W x H, filled with a colour (RRGGBB), never managed. Prints "mapped" once X has it on
screen, then stays until killed.

Usage: x11_menu.py X Y W H RRGGBB
"""

import signal
import sys

from Xlib import X, display


def main():
    if len(sys.argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    x, y, width, height = (int(v) for v in sys.argv[1:5])
    rgb = int(sys.argv[5], 16)
    d = display.Display()
    screen = d.screen()
    window = screen.root.create_window(
        x, y, width, height, 0, screen.root_depth, X.InputOutput, X.CopyFromParent,
        background_pixel=rgb, override_redirect=True, event_mask=X.ExposureMask | X.StructureNotifyMask)
    window.map()
    d.flush()
    while True:
        if d.next_event().type == X.MapNotify:
            break
    print("mapped", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        d.next_event()


if __name__ == "__main__":
    sys.exit(main())
