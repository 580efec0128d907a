# Registry client (issue 4): reference parsing, WWW-Authenticate, retries, SHA-256, the v2 API.
target_sources(mx PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/mx_www_auth.c
  ${CMAKE_CURRENT_LIST_DIR}/mx_reg_ref.c
  ${CMAKE_CURRENT_LIST_DIR}/mx_reg_retry.c
  ${CMAKE_CURRENT_LIST_DIR}/mx_sha256.c
  ${CMAKE_CURRENT_LIST_DIR}/mx_reg_http.c
  ${CMAKE_CURRENT_LIST_DIR}/mx_reg_client.c
  ${CMAKE_CURRENT_LIST_DIR}/mx_reg_token.c
  ${CMAKE_CURRENT_LIST_DIR}/mx_reg_manifest.c
  ${CMAKE_CURRENT_LIST_DIR}/mx_reg_blob.c
  ${CMAKE_CURRENT_LIST_DIR}/mx_reg_pull.c)
target_link_libraries(mx PUBLIC PkgConfig::CURL)
