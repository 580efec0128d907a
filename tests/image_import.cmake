# Importing stock cloud images: file checks, store and refusals without a VM (the VM test is
# tests/vm/image_import_test.sh, label vm).
mx_unit_test(image_import_test provisioner/import/image_import_test.c mexec_import)
