# libvigil for other projects (docs/library.md): one static and one shared
# library made of VIGIL_LIBRARY_LAYERS' objects, the header tree
# cmake/public_headers.cmake builds, a CMake package (find_package(vigil)
# gives vigil::vigil, shared, and vigil::vigil_static) and a pkg-config file.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(vigil_objects "")
foreach(layer ${VIGIL_LIBRARY_LAYERS})
  list(APPEND vigil_objects $<TARGET_OBJECTS:vigil_${layer}>)
endforeach()

# The installed headers, rebuilt whenever a source header changes.
set(vigil_header_tree ${CMAKE_BINARY_DIR}/public-include)
set(vigil_header_sources "")
foreach(layer ${VIGIL_LIBRARY_LAYERS})
  file(GLOB hs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/${layer}/*.hpp)
  list(APPEND vigil_header_sources ${hs})
endforeach()
file(GLOB hs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/include/vigil/*.hpp)
list(APPEND vigil_header_sources ${hs})
add_custom_command(
  OUTPUT ${vigil_header_tree}.stamp
  COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_SOURCE_DIR} -DOUT=${vigil_header_tree}
          "-DLAYERS=${VIGIL_LIBRARY_LAYERS}" -P ${CMAKE_SOURCE_DIR}/cmake/public_headers.cmake
  COMMAND ${CMAKE_COMMAND} -E touch ${vigil_header_tree}.stamp
  DEPENDS ${vigil_header_sources} ${CMAKE_SOURCE_DIR}/cmake/public_headers.cmake
  COMMENT "Installed header tree (public-include/vigil)"
  VERBATIM)
add_custom_target(vigil_public_headers ALL DEPENDS ${vigil_header_tree}.stamp)

add_library(vigil_shared SHARED ${vigil_objects})
add_library(vigil_static STATIC ${vigil_objects})
# util's SHA-256 calls libcrypto: linked into libvigil.so, and passed on to
# users of libvigil.a (vigilConfig.cmake finds OpenSSL; vigil.pc's
# Requires.private names libcrypto).
target_link_libraries(vigil_shared PRIVATE OpenSSL::Crypto)
target_link_libraries(vigil_static INTERFACE OpenSSL::Crypto)
foreach(t vigil_shared vigil_static)
  target_compile_features(${t} INTERFACE cxx_std_20)
  target_include_directories(
    ${t} INTERFACE $<BUILD_INTERFACE:${vigil_header_tree}> $<BUILD_INTERFACE:${CMAKE_BINARY_DIR}/generated>
                   $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  add_dependencies(${t} vigil_public_headers)
endforeach()
# 0.x: the ABI may change with every minor version (libvigil.so.0.1).
set_target_properties(vigil_shared PROPERTIES OUTPUT_NAME vigil EXPORT_NAME vigil VERSION ${PROJECT_VERSION}
                                              SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
set_target_properties(vigil_static PROPERTIES OUTPUT_NAME vigil EXPORT_NAME vigil_static)
# The same names for a project that adds vigil with add_subdirectory().
add_library(vigil::vigil ALIAS vigil_shared)
add_library(vigil::vigil_static ALIAS vigil_static)

install(TARGETS vigil_shared vigil_static EXPORT vigilTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS vigil RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${vigil_header_tree}/vigil ${CMAKE_BINARY_DIR}/generated/vigil
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(vigil_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/vigil)
install(EXPORT vigilTargets NAMESPACE vigil:: DESTINATION ${vigil_cmake_dir})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/vigilConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/vigilConfig.cmake INSTALL_DESTINATION ${vigil_cmake_dir})
# 0.x: a minor version may break the API, so only the same minor matches.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/vigilConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/vigilConfig.cmake ${CMAKE_BINARY_DIR}/vigilConfigVersion.cmake
        DESTINATION ${vigil_cmake_dir})

# pkg-config: the prefix is found from the .pc file's own place, so the
# tree works wherever `cmake --install --prefix` put it.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(VIGIL_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  set(VIGIL_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
file(RELATIVE_PATH vigil_pc_up /x/${CMAKE_INSTALL_LIBDIR}/pkgconfig /x)
set(VIGIL_PC_PREFIX "\${pcfiledir}/${vigil_pc_up}")
configure_file(${CMAKE_SOURCE_DIR}/cmake/vigil.pc.in ${CMAKE_BINARY_DIR}/vigil.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/vigil.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
