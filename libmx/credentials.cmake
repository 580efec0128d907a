# Registry credentials: docker config.json, credential resolution (GitLab precedence), docker
# credential helpers, AWS SigV4 (libcurl) + ECR/STS.
target_sources(mx PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/mx_cred.c
  ${CMAKE_CURRENT_LIST_DIR}/mx_cred_ref.c
  ${CMAKE_CURRENT_LIST_DIR}/mx_cred_helper.c
  ${CMAKE_CURRENT_LIST_DIR}/mx_dockercfg.c
  ${CMAKE_CURRENT_LIST_DIR}/mx_dockercfg_render.c
  ${CMAKE_CURRENT_LIST_DIR}/mx_dockercfg_save.c)
target_link_libraries(mx PUBLIC PkgConfig::CURL)
target_sources(mx PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/mx_aws_http.c
  ${CMAKE_CURRENT_LIST_DIR}/mx_aws_endpoint.c
  ${CMAKE_CURRENT_LIST_DIR}/mx_aws_sts.c
  ${CMAKE_CURRENT_LIST_DIR}/mx_aws_ecr.c
  ${CMAKE_CURRENT_LIST_DIR}/mx_aws_cache.c)
