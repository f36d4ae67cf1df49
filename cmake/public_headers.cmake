# Builds the installed header tree (docs/library.md) in OUT:
#   OUT/vigil/*.hpp          include/vigil/*.hpp, as they are
#   OUT/vigil/LAYER/*.hpp    src/LAYER/*.hpp for each layer in LAYERS
# In the source tree the layers include each other as "tcp/config.hpp"
# (-I src); installed, that would need -I PREFIX/include/vigil, which puts
# generic names like "util/" on every consumer's include path. So the copies
# say "vigil/tcp/config.hpp", and -I PREFIX/include is enough.
# Usage: cmake -DSRC=<source dir> -DOUT=<dir> -DLAYERS="util;wire;..." -P public_headers.cmake
cmake_minimum_required(VERSION 3.25)
foreach(var SRC OUT LAYERS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "public_headers.cmake: ${var} is not set")
  endif()
endforeach()

string(JOIN "|" layer_alt ${LAYERS})
set(copied "")

function(copy_header from to)
  file(READ ${from} text)
  # An installed header may include only what is installed.
  string(REGEX MATCHALL "#include \"[a-z_]+/[^\"]*\"" includes "${text}")
  foreach(inc ${includes})
    if(NOT inc MATCHES "#include \"(vigil|${layer_alt})/")
      message(FATAL_ERROR "${from}: ${inc} is not part of the installed library")
    endif()
  endforeach()
  string(REGEX REPLACE "#include \"(${layer_alt})/" "#include \"vigil/\\1/" text "${text}")
  # Rewrite only what changed, so dependants do not rebuild needlessly.
  if(EXISTS ${to})
    file(READ ${to} old)
    if(old STREQUAL text)
      return()
    endif()
  endif()
  file(WRITE ${to} "${text}")
endfunction()

file(GLOB top ${SRC}/include/vigil/*.hpp)
foreach(h ${top})
  get_filename_component(name ${h} NAME)
  copy_header(${h} ${OUT}/vigil/${name})
  list(APPEND copied ${OUT}/vigil/${name})
endforeach()
foreach(layer ${LAYERS})
  file(GLOB hs ${SRC}/src/${layer}/*.hpp)
  foreach(h ${hs})
    get_filename_component(name ${h} NAME)
    copy_header(${h} ${OUT}/vigil/${layer}/${name})
    list(APPEND copied ${OUT}/vigil/${layer}/${name})
  endforeach()
endforeach()

# A header deleted from the source goes from the tree too.
file(GLOB_RECURSE present ${OUT}/vigil/*.hpp)
foreach(f ${present})
  if(NOT f IN_LIST copied)
    file(REMOVE ${f})
  endif()
endforeach()
