# Config processing: 2.1 expansion (orbs, commands, executors, parameters, matrix, when),
# workflows and the `mexec config` command.
target_sources(mx_host PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/cfg_suggest.c ${CMAKE_CURRENT_LIST_DIR}/cfg_params.c
  ${CMAKE_CURRENT_LIST_DIR}/cfg_cond.c ${CMAKE_CURRENT_LIST_DIR}/cfg_orbs.c
  ${CMAKE_CURRENT_LIST_DIR}/cfg_orb_docker.c ${CMAKE_CURRENT_LIST_DIR}/cfg_expand.c
  ${CMAKE_CURRENT_LIST_DIR}/cfg_workflow.c ${CMAKE_CURRENT_LIST_DIR}/cfg_process.c
  ${CMAKE_CURRENT_LIST_DIR}/cfg_emit.c ${CMAKE_CURRENT_LIST_DIR}/cfg_git.c
  ${CMAKE_CURRENT_LIST_DIR}/cfg_pipeline.c ${CMAKE_CURRENT_LIST_DIR}/cfg_orb_load.c
  ${CMAKE_CURRENT_LIST_DIR}/cfg_job_exec.c
  ${CMAKE_CURRENT_LIST_DIR}/orb_api.c ${CMAKE_CURRENT_LIST_DIR}/orb_ref.c
  ${CMAKE_CURRENT_LIST_DIR}/orb_cache.c ${CMAKE_CURRENT_LIST_DIR}/orb_resolve.c
  ${CMAKE_CURRENT_LIST_DIR}/cfg_cli.c)
