# GitLab Runner custom-executor driver (`mexec gitlab ...`, docs/gitlab.md).
target_sources(mx_host PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/gitlab_env.c
  ${CMAKE_CURRENT_SOURCE_DIR}/gitlab_cli.c)
# the driver reports its version in the config stage's JSON
set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/gitlab_cli.c PROPERTIES
  COMPILE_DEFINITIONS MX_VERSION="${PROJECT_VERSION}")
