#!/bin/sh
echo "bazel coverage needs the downloaded coverage tools; not available offline" >&2
exit 1
