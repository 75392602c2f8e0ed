# Injected into every package configure via -DCMAKE_PROJECT_INCLUDE (see colcon-defaults.yaml).
#
# Why: the ROS 2 Jazzy wheels on PyPI export CMake targets whose INTERFACE_INCLUDE_DIRECTORIES
# name the Python and numpy include folders of the machine that built the wheels
# (/opt/python/cpXY-cpXY/...). CMake refuses imported targets with non-existent include paths.
# This pass, deferred to the end of the top-level directory, replaces only such missing
# python/numpy include entries with this interpreter's. It edits no file and is a no-op on a
# regular ROS install, where every path exists.

find_package(Python3 COMPONENTS Interpreter QUIET)
if(Python3_EXECUTABLE)
  execute_process(
    COMMAND "${Python3_EXECUTABLE}" -c "import sysconfig; print(sysconfig.get_paths()['include'])"
    OUTPUT_VARIABLE CORRIDOR_PY_INCLUDE OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  execute_process(
    COMMAND "${Python3_EXECUTABLE}" -c "import numpy; print(numpy.get_include())"
    OUTPUT_VARIABLE CORRIDOR_NUMPY_INCLUDE OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
endif()

function(corridor_fix_targets_in dir)
  get_property(targets DIRECTORY "${dir}" PROPERTY IMPORTED_TARGETS)
  foreach(tgt IN LISTS targets)
    get_target_property(incs ${tgt} INTERFACE_INCLUDE_DIRECTORIES)
    if(NOT incs)
      continue()
    endif()
    set(fixed "")
    set(changed FALSE)
    foreach(inc IN LISTS incs)
      if(NOT EXISTS "${inc}" AND inc MATCHES "/numpy/(_core|core)/include$" AND CORRIDOR_NUMPY_INCLUDE)
        list(APPEND fixed "${CORRIDOR_NUMPY_INCLUDE}")
        set(changed TRUE)
      elseif(NOT EXISTS "${inc}" AND inc MATCHES "/include/python3\\.[0-9]+$" AND CORRIDOR_PY_INCLUDE)
        list(APPEND fixed "${CORRIDOR_PY_INCLUDE}")
        set(changed TRUE)
      else()
        list(APPEND fixed "${inc}")
      endif()
    endforeach()
    if(changed)
      set_target_properties(${tgt} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${fixed}")
    endif()
  endforeach()
  get_property(subdirs DIRECTORY "${dir}" PROPERTY SUBDIRECTORIES)
  foreach(sub IN LISTS subdirs)
    corridor_fix_targets_in("${sub}")
  endforeach()
endfunction()

function(corridor_fix_all_targets)
  corridor_fix_targets_in("${CMAKE_SOURCE_DIR}")
endfunction()

cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL corridor_fix_all_targets)
