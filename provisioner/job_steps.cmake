# Caches, artifacts, test results, SSH keys and parallel nodes of real jobs: the host side.
# libxml2 parses JUnit XML (already a dependency of libvirt); libarchive reads the tars that
# come from guests.
pkg_check_modules(LIBXML2 REQUIRED IMPORTED_TARGET libxml-2.0)
pkg_check_modules(LIBARCHIVE REQUIRED IMPORTED_TARGET libarchive)
target_sources(mx_host PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/cfg_job_steps.c
  ${CMAKE_CURRENT_LIST_DIR}/cache_key.c ${CMAKE_CURRENT_LIST_DIR}/cache_store.c
  ${CMAKE_CURRENT_LIST_DIR}/junit.c ${CMAKE_CURRENT_LIST_DIR}/tar_extract.c
  ${CMAKE_CURRENT_LIST_DIR}/host_steps.c ${CMAKE_CURRENT_LIST_DIR}/job_steps.c
  ${CMAKE_CURRENT_LIST_DIR}/job_steps_cache.c ${CMAKE_CURRENT_LIST_DIR}/job_steps_store.c
  ${CMAKE_CURRENT_LIST_DIR}/job_steps_keys.c ${CMAKE_CURRENT_LIST_DIR}/job_steps_timings.c
  ${CMAKE_CURRENT_LIST_DIR}/job_nodes.c ${CMAKE_CURRENT_LIST_DIR}/run_outputs.c)
target_link_libraries(mx_host PUBLIC PkgConfig::LIBXML2 PkgConfig::LIBARCHIVE)
