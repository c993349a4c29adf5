#!/usr/bin/env bash
# Installs xgrad's build and run dependencies from Debian 12 packages. Idempotent: a no-op when
# everything is present. Usage: scripts/setup.sh [--bench] [--sanitizers] [--distributed]
#   --bench        also LibTorch and PyTorch for the side-by-side benchmarks (large), and the other GEMM
#                  backends that bench/gemm_backends.sh measures against OpenBLAS: BLIS (pthread
#                  build; it registers as a libblas.so.3 alternative below OpenBLAS's priority, so the
#                  default BLAS stays OpenBLAS) and oneDNN's headers
#   --sanitizers   also clang with its sanitizer and libFuzzer runtime (scripts/fuzz.sh) and valgrind
#                  (scripts/sanitize.sh valgrind-examples) for the reliability checks
#   --distributed  also Open MPI (headers, libraries, mpirun) for xgrad::distributed (XGRAD_DISTRIBUTED=ON)
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  xtensor-dev xtl-dev libxtensor-blas-dev libxsimd-dev libopenblas-dev
  libfmt-dev doctest-dev zlib1g-dev
  dataset-fashion-mnist   # the flagship's data (IDX .gz files)
  python3-sklearn         # scikit-learn's CSV data sets used by the examples
  python3                 # safetensors interop test (standard library only)
  gnuplot-nox graphviz    # pictures of the examples (optional at run time)
)
for arg in "$@"; do
  case $arg in
    --bench) packages+=(libtorch-dev python3-torch hyperfine libblis-pthread-dev libblis-dev libdnnl-dev) ;;
    --sanitizers) packages+=(clang libclang-rt-14-dev valgrind) ;;
    --distributed) packages+=(libopenmpi-dev openmpi-bin) ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all dependencies present"
  exit 0
fi
echo "setup: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
