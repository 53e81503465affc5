#!/usr/bin/env bash
# Set up the toolbox on a fresh Debian/Ubuntu machine: system packages, a .venv
# with every extra, and (optionally) model weights. Safe to run again: each
# part checks what is already there.
#
#   ./install.sh                 # everything, no model weights
#   ./install.sh --models small  # also fetch the small, permissively licensed models
#                                # (the only set: larger weights are non-commercial)
#   ./install.sh --models none   # the default
set -euo pipefail
cd "$(dirname "$0")"

models=none
while [ $# -gt 0 ]; do
    case "$1" in
        --models) models="${2:-}"; shift 2 ;;
        --models=*) models="${1#*=}"; shift ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
case "$models" in small|none) ;; *)
    echo "install.sh: --models takes small or none, not '$models' (larger weights are" \
         "non-commercial: pass them to a step with --checkpoint)" >&2; exit 2 ;;
esac

say() { printf '[install] %s\n' "$*"; }

# --- system packages ---------------------------------------------------------
# ffmpeg: ffprobe checks and the final encode; mesa-vulkan-drivers + libvulkan1:
# Open3D's headless renderer on the CPU; xvfb: the viewer's window tests.
need_apt=()
command -v ffmpeg >/dev/null 2>&1 || need_apt+=(ffmpeg)
command -v Xvfb >/dev/null 2>&1 || need_apt+=(xvfb)
for pkg in libvulkan1 mesa-vulkan-drivers libgl1 libgomp1; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        say "missing system packages: ${need_apt[*]} (no apt-get here: install them yourself)"
        exit 1
    fi
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    say "installing system packages: ${need_apt[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
else
    say "system packages present"
fi

# --- Python environment ------------------------------------------------------
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    say "creating .venv with $($python --version)"
    $python -m venv .venv
fi
pip=(.venv/bin/python -m pip --disable-pip-version-check -q)
"${pip[@]}" install --upgrade pip >/dev/null

if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    viewer=viewer
else
    viewer=viewer-cpu   # open3d-cpu: no CUDA libraries on a machine without a GPU
fi
say "installing the package with extras depth,masks,tracking,infill,$viewer,dev"
"${pip[@]}" install -c constraints.txt -e ".[depth,masks,tracking,infill,$viewer,dev]"

# PySceneDetect (run_pipeline.py --split_scenes) declares a dependency on opencv-python,
# which would clobber opencv-python-headless's cv2: install it without dependencies and
# give it the ones it really uses.
"${pip[@]}" install -c constraints.txt click platformdirs
"${pip[@]}" install --no-deps "scenedetect>=0.6"

# Never keep torchvision: there is no CPU build, and the CUDA-only wheel breaks
# transformers' and diffusers' model imports. Our preprocessing needs none of it.
if .venv/bin/python -c "import importlib.util,sys; sys.exit(0 if importlib.util.find_spec('torchvision') else 1)"; then
    say "removing torchvision (pulled in by something else)"
    "${pip[@]}" uninstall -y torchvision
fi
# opencv-python and opencv-python-headless fight over the cv2 module.
if .venv/bin/python -m pip show opencv-python >/dev/null 2>&1; then
    say "replacing opencv-python with opencv-python-headless"
    "${pip[@]}" uninstall -y opencv-python
    "${pip[@]}" install -c constraints.txt --force-reinstall --no-deps opencv-python-headless
fi

# --- model weights -----------------------------------------------------------
.venv/bin/python -m metricdepth.models_download "$models"

# --- numba kernels -------------------------------------------------------------
# Compile the stereo renderer and the infill warp once, into the user's cache folder,
# so the first real run does not spend minutes compiling (nothing to do when cached).
say "compiling the numba kernels once (minutes the first time, a second after)"
.venv/bin/python -m metricdepth.compile_ahead

.venv/bin/python -c "import metricdepth, av, cv2, numpy, torch; print('[install] ready: metricdepth', metricdepth.__version__, '| torch', torch.__version__, '| PyAV', av.__version__)"
