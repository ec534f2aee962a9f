/* Tests of `simlearn model`: the summary table, usage and spec errors with
 * their exit codes, and init writing a checkpoint that summary reads back. */
#include "test.h"

TEST(cli_model_summary) {
    char cmd[512], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s model summary 'conv(8,3,pad=1),bn,relu,gap,linear(4)' --input 1x28x28 2>&1",
             t_simlearn());
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "8x28x28");
    ASSERT_CONTAINS(out, "3-4");
    ASSERT_CONTAINS(out, "parameters: 132");
    ASSERT_CONTAINS(out, "training memory at batch 256");
    free(out);
}

TEST(cli_model_summary_vit) {
    char cmd[512], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s model summary 'vit(patch=4,dim=96,depth=6,heads=4)' --input 1x28x28 2>&1",
             t_simlearn());
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "patch(4,96)                  49x96                1632");
    ASSERT_CONTAINS(out, "8    8      block(4,4)                   50x96              111840");
    ASSERT_CONTAINS(out, "10   10     tokfirst                     96");
    ASSERT_CONTAINS(out, "parameters: 677760");
    ASSERT_CONTAINS(out, "training memory at batch 256");
    free(out);
    snprintf(cmd, sizeof cmd, "%s model summary 'conv(3,3),vit(heads=5)' --input 1x28x28 2>&1", t_simlearn());
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "token 2 'vit(heads=5)' (column 11): heads (5) must divide dim (96)");
    free(out);
}

TEST(cli_model_errors) {
    char cmd[512], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s model summary 'conv(8,3),linear(4)' --input 1x28x28 2>&1", t_simlearn());
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "token 2 'linear(4)'");
    free(out);
    snprintf(cmd, sizeof cmd, "%s model summary relu 2>&1", t_simlearn());
    ASSERT_EQ_INT(t_run(cmd, &out), 2);
    ASSERT_CONTAINS(out, "--input is required");
    free(out);
    snprintf(cmd, sizeof cmd, "%s model summary relu --input 1x2x3x4 2>&1", t_simlearn());
    ASSERT_EQ_INT(t_run(cmd, &out), 2);
    ASSERT_CONTAINS(out, "--input: shape '1x2x3x4': more than 3 dimensions");
    free(out);
    snprintf(cmd, sizeof cmd, "%s model frob 2>&1", t_simlearn());
    ASSERT_EQ_INT(t_run(cmd, &out), 2);
    ASSERT_CONTAINS(out, "unknown subcommand");
    free(out);
}

TEST(cli_model_init_then_summary) {
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s model init 'linear(16),relu,linear(3)' --input 10 --seed 4 -o %s 2>&1",
             t_simlearn(), t_path("m.safetensors"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "227 parameters");
    free(out);
    snprintf(cmd, sizeof cmd, "%s model summary %s 2>&1", t_simlearn(), t_path("m.safetensors"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "linear(16)");
    free(out);
    sl_model *m;
    ASSERT_OK(sl_model_load(t_path("m.safetensors"), &m));
    ASSERT_EQ_SIZE(sl_model_param_count(m), 227);
    sl_model_destroy(m);
}
