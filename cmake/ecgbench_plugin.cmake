# ecgbench_add_plugin(<name> SOURCES <files...> [OUTPUT_DIR <dir>])
#
# Builds <name>.so: a MODULE library linked against the plugin API only (ecgbench::api), with
# hidden visibility (one plugin's factory can never shadow another's), no "lib" prefix, and
# LibTorch's C++ flags (host and plugins must agree on _GLIBCXX_USE_CXX11_ABI). The same function
# serves the ecgbench tree and, through find_package(ecgbench), plugins built out of tree.
function(ecgbench_add_plugin name)
  cmake_parse_arguments(ARG "" "OUTPUT_DIR" "SOURCES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "ecgbench_add_plugin(${name}): no SOURCES")
  endif()
  set(is_product_plugin OFF)
  if(NOT ARG_OUTPUT_DIR)
    if(DEFINED ECGBENCH_PLUGIN_OUTPUT_DIR)
      set(ARG_OUTPUT_DIR ${ECGBENCH_PLUGIN_OUTPUT_DIR})
      set(is_product_plugin ${ECGBENCH_IN_TREE})
    else()
      set(ARG_OUTPUT_DIR ${CMAKE_CURRENT_BINARY_DIR})
    endif()
  endif()
  set(target ecgbench_plugin_${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE ecgbench::api)
  target_compile_features(${target} PRIVATE cxx_std_20)
  if(NOT ECGBENCH_IN_TREE)  # the ecgbench tree sets these flags for everything it builds
    separate_arguments(torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
    target_compile_options(${target} PRIVATE ${torch_flags})
  endif()
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME ${name} PREFIX ""
    LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIR}
    CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  if(is_product_plugin)
    set_property(GLOBAL APPEND PROPERTY ECGBENCH_PLUGIN_TARGETS ${target})
    # Installed plugins find libecgbench_api.so two levels up (<libdir>/ecgbench/plugins -> <libdir>).
    set_target_properties(${target} PROPERTIES INSTALL_RPATH "$ORIGIN/../..")
    install(TARGETS ${target} LIBRARY DESTINATION ${ECGBENCH_PLUGIN_INSTALL_DIR})
  endif()
endfunction()

# ecgbench_add_experiment_test(<test name> <experiment.toml>)
#
# A CTest test that runs the experiment through the ecgbench host — the tree's own, or the
# installed one the package found — with the plugins this directory builds (--plugin-dir), in a
# store of its own (--force: every cell runs each time). It passes when every cell finishes.
# `ecgbench new-plugin` skeletons use it for their tiny experiment.
function(ecgbench_add_experiment_test name experiment)
  if(ECGBENCH_IN_TREE AND NOT ECGBENCH_BUILD_TESTS)
    return()
  endif()
  if(TARGET ecgbench)
    set(host $<TARGET_FILE:ecgbench>)
  elseif(ECGBENCH_EXECUTABLE)
    set(host ${ECGBENCH_EXECUTABLE})
  else()
    message(FATAL_ERROR "ecgbench_add_experiment_test(${name}): no ecgbench host (find_package(ecgbench) first)")
  endif()
  add_test(NAME ${name}
    COMMAND ${host} --store ${CMAKE_CURRENT_BINARY_DIR}/${name}/store.db --plugin-dir ${CMAKE_CURRENT_BINARY_DIR}
            run --quiet --force ${experiment})
endfunction()
