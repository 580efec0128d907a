# The docker executor (CircleCI docker: jobs, GitLab image + services): containers in the job's
# VM, started and driven through the guest dockerd's Engine API by the agent.
target_sources(mx_host PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/cfg_docker.c ${CMAKE_CURRENT_LIST_DIR}/job_containers.c
  ${CMAKE_CURRENT_LIST_DIR}/gitlab_ctr.c)
