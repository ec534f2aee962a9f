/* simlearn's entry point: finds the command named by argv[1] and runs it.
 * The command table is generated from the cli/cmd_*.c files (see Makefile). */
#include "cli.h"

#include <string.h>

#define X(n) extern const cli_command cli_cmd_##n;
#include "commands.inc"
#undef X

static const cli_command *const commands[] = {
#define X(n) &cli_cmd_##n,
#include "commands.inc"
#undef X
    NULL};

static void usage(FILE *out) {
    fprintf(out,
            "simlearn %s: learning representations by similarity\n\n"
            "usage: simlearn <command> [options]\n\ncommands:\n",
            sl_version());
    for (int i = 0; commands[i]; i++) fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out, "\n'simlearn <command> --help' shows a command's options and defaults.\n");
}

/* Under mpirun every rank runs main: MPI starts for the commands that share
 * their work among the ranks; the others refuse to run several times over.
 * A rank that fails ends the whole run (the others may wait for it). */
static int run_command(const cli_command *cmd, int argc, char **argv) {
    sl_status s = sl_dist_init();
    if (s) return cli_fail(s);
    if (sl_dist_size() > 1 && !cmd->distributed) {
        int rc = cli_one_process(cmd->name);
        sl_dist_shutdown();
        return rc;
    }
    int rc = cmd->run(argc, argv);
    if (rc == 1 && sl_dist_size() > 1) sl_dist_abort(rc); /* usage errors (2) are the same on every rank */
    sl_dist_shutdown();
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("simlearn %s\n", sl_version());
        return 0;
    }
    for (int i = 0; commands[i]; i++)
        if (strcmp(argv[1], commands[i]->name) == 0) return run_command(commands[i], argc - 1, argv + 1);
    fprintf(stderr, "simlearn: unknown command '%s' (see 'simlearn --help')\n", argv[1]);
    return 2;
}
