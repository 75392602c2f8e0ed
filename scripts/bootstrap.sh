#!/usr/bin/env bash
# Set up everything Corridor needs, from nothing, idempotently:
#   1. Debian packages (mosquitto, mosquitto-clients, cmake, g++, Python headers) when missing;
#   2. the venv at .venv/ with the pinned Python dependencies (requirements.lock);
#   3. our Python packages installed editable into the venv (gives the `corridor` CLI);
#   4. the colcon build of src/corridor_interfaces into corridor_ws/install.
# Each step is skipped when a stamp shows its inputs unchanged, so a second run takes a few seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
WS="$ROOT/corridor_ws"
PY_SYS="${PYTHON:-python3}"

say() { printf '[bootstrap] %s\n' "$*"; }
hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }

# --- 1. Debian packages -------------------------------------------------------------------
need_apt=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto)
command -v mosquitto_passwd >/dev/null 2>&1 || need_apt+=(mosquitto-clients)
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
command -v make >/dev/null 2>&1 || need_apt+=(make)
if ! "$PY_SYS" -c 'import sysconfig, os, sys; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else 1)'; then
  need_apt+=(python3-dev)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  say "installing Debian packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# --- 2. venv and pinned dependencies -------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  say "creating venv at .venv/"
  "$PY_SYS" -m venv "$VENV"
fi
PY="$VENV/bin/python"
pip_inputs=(requirements.lock src/corridor_core/setup.py src/corridor_links/setup.py
            src/corridor_nodes/setup.py sim/setup.py)
pip_hash="$(hash_of "${pip_inputs[@]}")"
if [ "$(cat "$VENV/.corridor-pip" 2>/dev/null)" != "$pip_hash" ]; then
  say "installing pinned Python dependencies (requirements.lock; log in .venv/pip.log)"
  pip_log="$VENV/pip.log"
  run_pip() { "$PY" -m pip --disable-pip-version-check "$@" >>"$pip_log" 2>&1 \
              || { grep -v "WARNING: Location" "$pip_log" | tail -40 >&2; exit 1; }; }
  run_pip install --upgrade "pip>=24"
  run_pip install -r requirements.lock
  say "installing Corridor packages (editable)"
  run_pip install --no-deps --no-build-isolation \
    -e src/corridor_core -e src/corridor_links -e src/corridor_nodes -e sim
  echo "$pip_hash" > "$VENV/.corridor-pip"
fi

# --- 3. colcon build of the interface package ----------------------------------------------
colcon_hash="$(hash_of $(find src/corridor_interfaces "$WS/cmake" -type f | sort) requirements.lock)"
if [ "$(cat "$WS/install/.corridor-build" 2>/dev/null)" != "$colcon_hash" ]; then
  say "building corridor_interfaces with colcon"
  (
    cd "$WS"
    export PATH="$VENV/bin:$PATH" VIRTUAL_ENV="$VENV"
    export AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV"
    "$VENV/bin/colcon" --log-base log build --base-paths ../src --packages-select corridor_interfaces \
      --merge-install --event-handlers console_cohesion- summary- \
      --cmake-args "-DCMAKE_PROJECT_INCLUDE=$WS/cmake/fix_wheel_include_dirs.cmake" \
      -DBUILD_TESTING=OFF "-DPython3_EXECUTABLE=$PY" >"$WS/last-build.log" 2>&1 \
      || { cat "$WS/last-build.log" >&2; exit 1; }
  )
  echo "$colcon_hash" > "$WS/install/.corridor-build"
fi
