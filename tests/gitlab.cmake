# GitLab Runner custom-executor driver: unit test, and VM tests driven by tests/gitlab/runner.py
# (plays GitLab Runner's part).  VM tests run only inside tests/vm/netns-run.sh:
#   tests/vm/netns-run.sh bash -c 'cd build && ctest -L vm -R gitlab'
mx_unit_test(gitlab_test provisioner/gitlab/gitlab_test.c mexec_gitlab)

foreach(t pass fail cancel crash docker docker_image)
  add_test(NAME vm_gitlab_${t} COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/gitlab/${t}_test.sh)
  set_tests_properties(vm_gitlab_${t} PROPERTIES
    LABELS vm
    TIMEOUT 900
    ENVIRONMENT "MEXEC=$<TARGET_FILE:mexec>")
endforeach()
