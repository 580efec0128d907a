/* Subcommands of the mexec CLI, each returning an exit status: in cmd_*.c, except config
 * (cfg_cli.c) and gitlab (gitlab_cli.c).  The CLI is the only code that prints. */
#ifndef MX_CLI_H
#define MX_CLI_H

int mx_cmd_run(int argc, char **argv);
int mx_cmd_image(int argc, char **argv);
/* mexec image import | rm, and the imported images' rows of mexec image list
 * (cmd_image_import.c) */
int mx_cmd_image_import(int argc, char **argv);
int mx_cmd_image_rm(int argc, char **argv);
struct mx_host_config;
struct mx_err;
int mx_cmd_image_list_imported(const struct mx_host_config *hc, struct mx_err *err);
/* The host config and the image catalog every `mexec image` verb starts from (cmd_image.c);
 * the caller frees both (mx_catalog_free, mx_host_config_free) whatever it returns. */
struct mx_catalog;
int mx_cmd_image_load(struct mx_host_config *hc, struct mx_catalog *cat, struct mx_err *err);
/* One row of `mexec image list` (cmd_image.c); note follows the size, e.g. " (default)". */
struct mx_image;
void mx_cmd_image_row(const struct mx_image *img, const char *note);
int mx_cmd_gc(int argc, char **argv);
/* `mexec __spare`: a warm spare's holder (spare.h), internal */
int mx_cmd_spare(int argc, char **argv);
int mx_cmd_ps(int argc, char **argv);
int mx_cmd_ssh(int argc, char **argv);
int mx_cmd_doctor(int argc, char **argv);
int mx_cmd_config(int argc, char **argv); /* cfg_cli.c */
int mx_cmd_gitlab(int argc, char **argv); /* gitlab_cli.c */

/* Prints "mexec: message" and returns the error's exit status (cli_report.c). */
struct mx_err;
int mx_cli_report(const struct mx_err *err);

/* Installs the human view as the process's sink (cli_sink.c, sink.h): what library code
 * reports is printed as mexec always has. */
void mx_cli_sink_install(void);

#endif
