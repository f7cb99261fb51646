#!/bin/sh
# Lists the public headers (not detail/) relative to include/.
cd "$(dirname "$0")/../include" && find gale -maxdepth 1 -name '*.hpp' | sort
