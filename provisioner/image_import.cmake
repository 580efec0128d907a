# Stock cloud images: mexec image import | rm (image_import.h).
target_sources(mx_host PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/image_import.c ${CMAKE_CURRENT_LIST_DIR}/image_import_file.c
  ${CMAKE_CURRENT_LIST_DIR}/image_import_sniff.c
  ${CMAKE_CURRENT_LIST_DIR}/image_import_guest.c ${CMAKE_CURRENT_LIST_DIR}/image_import_store.c
  ${CMAKE_CURRENT_LIST_DIR}/ssh_run.c)
target_sources(mexec PRIVATE ${CMAKE_CURRENT_LIST_DIR}/cmd_image_import.c)
