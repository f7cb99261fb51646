#!/bin/sh
# Lists the public headers (not detail/ or impl/) relative to include/, but
# src.hpp, which is the separate-compilation mode's source file.
cd "$(dirname "$0")/../include" && find gale -maxdepth 1 -name '*.hpp' ! -name src.hpp | sort
