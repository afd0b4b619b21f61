#!/usr/bin/env bash
# Build llama.cpp's own llama-server from the source bundle of the same
# pinned package (node-llama-cpp@3.21.1, llama.cpp v0.4.0) that
# tools/setup-llama fetches, for the bench's side-by-side column
# (tools/bench/llama.sh with LLAMA_SERVER=1).  Not a test, not in CI.
#
# CPU only, Release, static (BUILD_SHARED_LIBS=OFF): the server carries its
# own ggml inside the binary and never loads the prebuilt libggml*.so that
# engines/llama links (mixing two ggml builds crashed, docs/ENGINES.md).
# Built once into a cache outside the tree, next to setup-llama's:
#   $(tools/setup-llama --print-dir)/server-build/
#     src/          the bundle's tree
#     build/        cmake's build folder
#     .done         stamp, written last
# Prints the path of llama-server.  cmake and g++ come from Debian.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/setup-deps cmake g++ curl >&2
tools/setup-llama --bundle >&2
top=$(tools/setup-llama --print-dir)
dir=$top/server-build
bin=$dir/build/bin/llama-server
if [ ! -f "$dir/.done" ]; then
	rm -rf "$dir/src"
	mkdir -p "$dir"
	git clone -q "$top/src.bundle" "$dir/src"
	echo "llama-server-build: cmake build of llama-server (a first build takes a while)" >&2
	cmake -S "$dir/src" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release \
		-DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
		-DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
		-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF >&2
	cmake --build "$dir/build" --target llama-server -j2 >&2
	# its own ggml, none of the prebuilt libraries
	if ldd "$bin" | grep -E 'libggml|libllama'; then
		echo "llama-server-build: $bin links a shared ggml/llama" >&2
		exit 1
	fi
	git -C "$dir/src" rev-parse HEAD >"$dir/.done"
fi
echo "$bin"
