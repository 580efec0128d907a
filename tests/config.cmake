# Config processing (2.1 expansion, workflows): fixture-driven unit tests and a fuzz target.
mx_unit_test(cfg_process_test provisioner/config/cfg_process_test.c mexec_config)
target_compile_definitions(cfg_process_test PRIVATE
  MX_PROCESS_FIXTURES="${CMAKE_CURRENT_SOURCE_DIR}/fixtures/config-process"
  MX_PLAN_FIXTURES="${CMAKE_CURRENT_SOURCE_DIR}/fixtures/config-plan")

mx_unit_test(cfg_git_test provisioner/config/cfg_git_test.c mexec_config)
mx_unit_test(orb_ref_test provisioner/config/orb_ref_test.c mexec_config)

# `mexec config validate|process` as a user runs it: exit statuses and messages.
add_test(NAME cfg_cli_test COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/provisioner/cli/cfg_cli_test.sh)
set_tests_properties(cfg_cli_test PROPERTIES LABELS unit TIMEOUT 300
  ENVIRONMENT "MEXEC=$<TARGET_FILE:mexec>;FIXTURES=${CMAKE_CURRENT_SOURCE_DIR}/fixtures/config-process")

# Registry orbs against a fake of CircleCI's orb API on loopback.
add_test(NAME orb_registry_test COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/provisioner/config/orb_registry_test.sh)
set_tests_properties(orb_registry_test PROPERTIES LABELS unit TIMEOUT 300
  ENVIRONMENT "MEXEC=$<TARGET_FILE:mexec>")

# Approval and no-op jobs in `mexec run --workflow` (no VM needed).
add_test(NAME workflow_approval_test
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/provisioner/workflow/workflow_approval_test.sh)
set_tests_properties(workflow_approval_test PROPERTIES LABELS unit TIMEOUT 300
  ENVIRONMENT "MEXEC=$<TARGET_FILE:mexec>")

# libFuzzer: the loader and the expander on arbitrary bytes (clang only).
#   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DMEXEC_FUZZ=ON && cmake --build build-fuzz
#   build-fuzz/tests/bin/cfg_fuzz -max_total_time=60 tests/fuzz/corpus/cfg
if(MEXEC_FUZZ AND CMAKE_C_COMPILER_ID MATCHES "Clang")
  # also the agent protocol reader: what the other side sends; and the terminal filter: what a
  # job prints
  foreach(target cfg_fuzz proto_fuzz term_fuzz)
    add_executable(${target} fuzz/${target}.c)
    target_link_libraries(${target} PRIVATE mx_host)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer)
    target_link_options(${target} PRIVATE -fsanitize=fuzzer)
    set_target_properties(${target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${MX_TEST_BIN_DIR})
  endforeach()
endif()
