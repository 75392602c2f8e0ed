# Source this file for a shell with Corridor on the path:  source corridor_ws/env.sh
# (run `make test` or `make run` once first so the venv and the build exist).
_corridor_ws="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)"
_corridor_root="$(dirname "$_corridor_ws")"
export CORRIDOR_WS="$_corridor_ws"
export VIRTUAL_ENV="$_corridor_root/.venv"
export PATH="$VIRTUAL_ENV/bin:$PATH"
export AMENT_PREFIX_PATH="$_corridor_ws/install:$VIRTUAL_ENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
for _corridor_sp in "$_corridor_ws"/install/lib/python3.*/site-packages; do
  [ -d "$_corridor_sp" ] && export PYTHONPATH="$_corridor_sp${PYTHONPATH:+:$PYTHONPATH}"
done
export LD_LIBRARY_PATH="$_corridor_ws/install/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
unset _corridor_ws _corridor_root _corridor_sp
