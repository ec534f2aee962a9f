/* Tests of zero-shot classification with a CLIP model (sl_zeroshot_run and
 * simlearn zeroshot): a tiny CLIP trained here on shapes, then its
 * predictions, tallies and confusion matrix against an argmax of cosine
 * similarities computed here from the embeddings that embed writes; the
 * same output whatever the thread count; the named errors and exit statuses
 * of bad inputs. */
#include "test.h"

#define N_VAL 150

static const char *const shape_names[] = {"circle", "square", "triangle", "diamond",
                                          "cross",  "star",   "hexagon"};

/* A tiny CLIP model on 16x16 shapes, trained for a few dozen steps, with the
 * given text tower (NULL: the default) into file. */
static const char *train_clip_with(const char *text_encoder, const char *file) {
    static char path[1024];
    snprintf(path, sizeof path, "%s", t_path(file));
    sl_train_config c;
    sl_train_config_default(&c);
    c.data = "shapes";
    c.data_count = 512;
    c.image_size = 16;
    c.objective = SL_OBJ_CLIP;
    c.encoder = "conv(8,3,stride=2,pad=1),bn,relu,flatten,linear(32)";
    c.projector = "linear(16)";
    c.text_encoder = text_encoder;
    c.batch = 64;
    c.steps = 40;
    c.threads = 1;
    c.seed = 5;
    c.out = path;
    sl_trainer *t;
    ASSERT_OK(sl_trainer_create(&c, &t));
    ASSERT_OK(sl_trainer_run(t, NULL));
    sl_trainer_destroy(t);
    return path;
}

static const char *train_clip(void) { return train_clip_with(NULL, "clip.safetensors"); }

static void zs_config(sl_zeroshot_config *c, const char *model) {
    sl_zeroshot_config_default(c);
    c->embed.model = model;
    c->embed.data_count = N_VAL;
    c->embed.threads = 1;
    c->embed.batch = 32;
}

/* The class of each image: the prompt of largest cosine similarity, in double
 * (ties: the lowest class). */
static void argmax_cosine(const float *img, size_t n, const float *txt, size_t k, size_t d, int32_t *pred) {
    for (size_t i = 0; i < n; i++) {
        double best = -INFINITY;
        for (size_t j = 0; j < k; j++) {
            double ab = 0, aa = 0, bb = 0;
            for (size_t t = 0; t < d; t++) {
                double a = img[i * d + t], b = txt[j * d + t];
                ab += a * b, aa += a * a, bb += b * b;
            }
            double cos = aa > 0 && bb > 0 ? ab / (sqrt(aa) * sqrt(bb)) : 0;
            if (cos > best) best = cos, pred[i] = (int32_t)j;
        }
    }
}

/* What the library says for one attribute equals the argmax of cosine over
 * embeddings from sl_embed_run (projector; the prompts as a text file), and
 * its tallies are those of the predictions. Returns the distinct predicted
 * classes. */
static size_t check_attribute(const char *model, const char *attr, const char *tpl, const char *const *classes,
                              size_t nc, size_t want_k) {
    sl_zeroshot_config c;
    zs_config(&c, model);
    c.attribute = attr;
    c.prompt = tpl;
    c.classes = classes;
    c.n_classes = nc;
    sl_zeroshot_result *r = NULL;
    ASSERT_OK(sl_zeroshot_run(&c, &r));
    ASSERT_STREQ(r->attribute, attr);
    ASSERT_EQ_SIZE(r->k, want_k);
    ASSERT_EQ_SIZE(r->n_items, N_VAL);
    /* The prompts, written out for embed --text. */
    char txt[4096] = "";
    for (size_t j = 0; j < r->k; j++) {
        strcat(txt, r->prompts[j]);
        strcat(txt, "\n");
    }
    const char *pf = t_path("prompts.txt");
    t_write_file(pf, txt, strlen(txt));
    sl_embed_config e = c.embed;
    e.split = SL_SPLIT_VAL;
    e.projector = true;
    sl_embedding *img, *pr;
    ASSERT_OK(sl_embed_run(&e, &img));
    e.projector = false;
    e.text_file = pf;
    ASSERT_OK(sl_embed_run(&e, &pr));
    ASSERT_EQ_SIZE(pr->n, r->k);
    ASSERT_EQ_SIZE(pr->d, img->d);
    int a = -1;
    for (int q = 0; q < img->n_attrs; q++)
        if (strcmp(img->attr_names[q], attr) == 0) a = q;
    ASSERT_TRUE(a >= 0);
    int32_t pred[N_VAL];
    argmax_cosine(img->x, img->n, pr->x, pr->n, img->d, pred);
    size_t k = r->k, conf[16 * 16] = {0}, counts[16] = {0}, correct = 0, seen = 0;
    for (size_t i = 0; i < N_VAL; i++) {
        int32_t l = img->labels[i * (size_t)img->n_attrs + (size_t)a];
        ASSERT_EQ_INT(r->labels[i], l);
        if (r->predicted[i] != pred[i]) T_FAIL("image %zu: predicted %d, the argmax of cosine is %d", i, r->predicted[i], pred[i]);
        ASSERT_TRUE(l >= 0 && (size_t)l < k);
        conf[(size_t)l * k + (size_t)pred[i]]++, counts[l]++, correct += l == pred[i];
        seen |= (size_t)1 << pred[i];
    }
    ASSERT_EQ_SIZE(r->n, N_VAL);
    ASSERT_EQ_SIZE(r->correct, correct);
    ASSERT_NEAR(r->accuracy, (double)correct / N_VAL, 0);
    ASSERT_TRUE(r->accuracy >= 0 && r->accuracy <= 1);
    ASSERT_NEAR(r->chance, 1.0 / (double)k, 0);
    size_t most = 0;
    for (size_t j = 0; j < k; j++) {
        size_t row = 0;
        for (size_t q = 0; q < k; q++) {
            ASSERT_EQ_SIZE(r->confusion[j * k + q], conf[j * k + q]);
            row += r->confusion[j * k + q];
        }
        /* Each row of the confusion matrix sums to its class's images. */
        ASSERT_EQ_SIZE(row, counts[j]);
        ASSERT_EQ_SIZE(r->counts[j], counts[j]);
        if (counts[j]) {
            ASSERT_NEAR(r->class_accuracy[j], (double)conf[j * k + j] / (double)counts[j], 0);
            ASSERT_TRUE(r->class_accuracy[j] >= 0 && r->class_accuracy[j] <= 1);
        } else {
            ASSERT_TRUE(isnan(r->class_accuracy[j]));
        }
        if (counts[j] > most) most = counts[j];
    }
    ASSERT_NEAR(r->majority, (double)most / N_VAL, 0);
    sl_embedding_destroy(img);
    sl_embedding_destroy(pr);
    sl_zeroshot_result_destroy(r);
    size_t distinct = 0;
    for (size_t j = 0; j < k; j++) distinct += (seen >> j) & 1;
    return distinct;
}

TEST(library_equals_the_argmax_of_cosine_over_embed) {
    const char *m = train_clip();
    /* The model tells some classes apart, so a wrong score or tally shows. */
    size_t d1 = check_attribute(m, "shape", "a photo of a {}", NULL, 0, 7);
    size_t d2 = check_attribute(m, "color", "a photo of a {} shape", NULL, 0, 8);
    static const char *const sizes[] = {"small", "large"};
    check_attribute(m, "size", "a {} {} shape", sizes, 2, 2);
    if (d1 < 2 && d2 < 2) T_FAIL("every image got the same shape and the same colour; the check would show nothing");
}

/* The same with a text transformer as the text tower (the txt preset): the
 * prompts go through its pad mask like the captions it was trained on. */
TEST(text_transformer_tower_equals_the_argmax_of_cosine_over_embed) {
    const char *m = train_clip_with("txt(dim=16,depth=2,heads=2,mlp=2),linear(D)", "clip_txt.safetensors");
    size_t d1 = check_attribute(m, "shape", "a photo of a {}", NULL, 0, 7);
    size_t d2 = check_attribute(m, "color", "a photo of a {} shape", NULL, 0, 8);
    if (d1 < 2 && d2 < 2) T_FAIL("every image got the same shape and the same colour; the check would show nothing");
}

/* The prompts are the template with every {} replaced, in label order, and
 * NULL attribute and template mean the first attribute and "a photo of a {}". */
TEST(prompts_and_defaults) {
    const char *m = train_clip();
    sl_zeroshot_config c;
    zs_config(&c, m);
    c.prompt = NULL;
    sl_zeroshot_result *r;
    ASSERT_OK(sl_zeroshot_run(&c, &r));
    ASSERT_STREQ(r->attribute, "shape");
    ASSERT_STREQ(r->classes[0], "circle");
    ASSERT_STREQ(r->prompts[0], "a photo of a circle");
    ASSERT_STREQ(r->prompts[6], "a photo of a hexagon");
    sl_zeroshot_result_destroy(r);
    static const char *const sizes[] = {"tiny", "huge"};
    c.attribute = "size";
    c.prompt = "{}: a {} thing";
    c.classes = sizes;
    c.n_classes = 2;
    ASSERT_OK(sl_zeroshot_run(&c, &r));
    ASSERT_STREQ(r->prompts[0], "tiny: a tiny thing");
    ASSERT_STREQ(r->prompts[1], "huge: a huge thing");
    sl_zeroshot_result_destroy(r);
}

TEST(bad_inputs_are_named) {
    const char *m = train_clip();
    sl_zeroshot_config c;
    sl_zeroshot_result *r = NULL;
    ASSERT_FAILS(sl_zeroshot_run(NULL, &r), SL_ERR_ARG, "no configuration");
    zs_config(&c, NULL);
    ASSERT_FAILS(sl_zeroshot_run(&c, &r), SL_ERR_ARG, "no model");
    zs_config(&c, m);
    c.prompt = "a photo of a thing";
    ASSERT_FAILS(sl_zeroshot_run(&c, &r), SL_ERR_ARG, "\"a photo of a thing\" has no {}");
    zs_config(&c, m);
    c.attribute = "colour";
    ASSERT_FAILS(sl_zeroshot_run(&c, &r), SL_ERR_ARG,
                 "shapes has no attribute 'colour' (its attributes: shape, color, size, location)");
    static const char *const three[] = {"a", "b", "c"};
    zs_config(&c, m);
    c.classes = three;
    c.n_classes = 3;
    ASSERT_FAILS(sl_zeroshot_run(&c, &r), SL_ERR_ARG, "3 class names given, but attribute 'shape' of shapes has 7 classes");
    static const char *const blank[] = {"small", ""};
    c.attribute = "size";
    c.classes = blank;
    c.n_classes = 2;
    ASSERT_FAILS(sl_zeroshot_run(&c, &r), SL_ERR_ARG, "class 1 of attribute 'size' has no name");
    /* A model without a text tower. */
    sl_train_config t;
    sl_train_config_default(&t);
    t.data_count = 64;
    t.image_size = 16;
    t.encoder = "conv(4,3,stride=2,pad=1),bn,relu,flatten,linear(8)";
    t.projector = "linear(8)";
    t.batch = 16;
    t.steps = 1;
    t.threads = 1;
    char simclr[1024];
    snprintf(simclr, sizeof simclr, "%s", t_path("simclr.safetensors"));
    t.out = simclr;
    sl_trainer *tr;
    ASSERT_OK(sl_trainer_create(&t, &tr));
    ASSERT_OK(sl_trainer_run(tr, NULL));
    sl_trainer_destroy(tr);
    zs_config(&c, simclr);
    ASSERT_FAILS(sl_zeroshot_run(&c, &r), SL_ERR_ARG, "simclr.safetensors: not a CLIP model (no text tower)");
    /* Data without labels: a .npy matrix. */
    float x[4 * 768] = {0};
    ASSERT_OK(sl_npy_write_matrix(t_path("x.npy"), x, 4, 768));
    zs_config(&c, m);
    c.embed.data = t_path("x.npy");
    c.embed.split = SL_SPLIT_ALL;
    ASSERT_FAILS(sl_zeroshot_run(&c, &r), SL_ERR_ARG, "has no labels to classify");
    ASSERT_TRUE(r == NULL);
}

TEST(stop_flag_returns_no_result) {
    const char *m = train_clip();
    static volatile sig_atomic_t flag = 1;
    sl_zeroshot_config c;
    zs_config(&c, m);
    c.stop = &flag;
    sl_zeroshot_result *r = NULL;
    ASSERT_FAILS(sl_zeroshot_run(&c, &r), SL_ERR_INTERRUPTED, "interrupted");
    ASSERT_TRUE(r == NULL);
    flag = 0;
    ASSERT_OK(sl_zeroshot_run(&c, &r));
    sl_zeroshot_result_destroy(r);
}

/* ---- the command ------------------------------------------------------------- */

/* Run cmd, which must succeed; its output (malloc'd) into *o. */
static void run_ok(const char *cmd, char **o) {
    int rc = t_run(cmd, o);
    if (rc) T_FAIL("%s: exit %d: %s", cmd, rc, *o);
}

/* The confusion matrix the command prints (k rows of k counts after the
 * line of class names that follows its title), into conf. */
static void parse_confusion(const char *text, size_t k, size_t *conf) {
    const char *title = strstr(text, "confusion matrix");
    if (!title) T_FAIL("no confusion matrix in \"%s\"", text);
    size_t at = (size_t)(title - text), lines = 0;
    while (text[at] && lines < 2) lines += text[at++] == '\n';
    for (size_t a = 0; a < k; a++) {
        while (text[at] && text[at] != ' ') at++; /* the row's class name */
        for (size_t b = 0; b < k; b++) {
            char *end;
            conf[a * k + b] = strtoull(text + at, &end, 10);
            if (end == text + at) T_FAIL("row %zu of the confusion matrix: no count %zu in \"%.60s\"", a, b, text + at);
            at = (size_t)(end - text);
        }
        if (text[at++] != '\n') T_FAIL("row %zu of the confusion matrix has more than %zu counts", a, k);
    }
}

TEST(command_equals_the_argmax_of_cosine_over_embed_output) {
    const char *m = train_clip();
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s zeroshot --model %s --count %d --attribute shape --threads 1 -q", t_simlearn(), m,
             N_VAL);
    char *o1 = NULL, *o2 = NULL, *o = NULL;
    run_ok(cmd, &o1);
    snprintf(cmd, sizeof cmd, "%s zeroshot --model %s --count %d --attribute shape --threads 2 --batch 7 -q",
             t_simlearn(), m, N_VAL);
    run_ok(cmd, &o2);
    ASSERT_STREQ(o1, o2); /* the same whatever the threads and the batch */
    free(o2);
    /* The embeddings from the command line, and the argmax here. */
    char emb[1024], pf[1024], pe[1024];
    snprintf(emb, sizeof emb, "%s", t_path("img.npy"));
    snprintf(pf, sizeof pf, "%s", t_path("p.txt"));
    snprintf(pe, sizeof pe, "%s", t_path("p.npy"));
    char txt[1024] = "";
    for (size_t j = 0; j < 7; j++) snprintf(txt + strlen(txt), sizeof txt - strlen(txt), "a photo of a %s\n", shape_names[j]);
    t_write_file(pf, txt, strlen(txt));
    snprintf(cmd, sizeof cmd, "%s embed --model %s --split val --count %d --projector -q -o %s", t_simlearn(), m,
             N_VAL, emb);
    run_ok(cmd, &o);
    free(o);
    snprintf(cmd, sizeof cmd, "%s embed --model %s --text %s -q -o %s", t_simlearn(), m, pf, pe);
    run_ok(cmd, &o);
    free(o);
    float *img, *pr;
    size_t n, d, k, d2;
    int64_t *lab;
    size_t nl;
    ASSERT_OK(sl_npy_read_matrix(emb, &img, &n, &d));
    ASSERT_OK(sl_npy_read_matrix(pe, &pr, &k, &d2));
    ASSERT_OK(sl_npy_read_labels(t_path("img.shape.npy"), &lab, &nl));
    ASSERT_EQ_SIZE(n, N_VAL);
    ASSERT_EQ_SIZE(nl, N_VAL);
    ASSERT_EQ_SIZE(k, 7);
    ASSERT_EQ_SIZE(d2, d);
    int32_t pred[N_VAL];
    argmax_cosine(img, n, pr, k, d, pred);
    size_t want[49] = {0}, got[49], correct = 0;
    for (size_t i = 0; i < n; i++) want[lab[i] * 7 + pred[i]]++, correct += lab[i] == pred[i];
    parse_confusion(o1, 7, got);
    for (size_t j = 0; j < 49; j++)
        if (got[j] != want[j])
            T_FAIL("confusion[%zu][%zu]: the command prints %zu, the argmax of cosine gives %zu\n%s", j / 7, j % 7,
                   got[j], want[j], o1);
    char line[200];
    snprintf(line, sizeof line, "accuracy %.2f%% (%zu of %d); chance 14.29%% (1 of 7)", 100.0 * (double)correct / N_VAL,
             correct, N_VAL);
    ASSERT_CONTAINS(o1, line);
    ASSERT_CONTAINS(o1, "circle  ");
    ASSERT_CONTAINS(o1, "a photo of a hexagon\n");
    sl_allocator_free(img);
    sl_allocator_free(pr);
    sl_allocator_free(lab);
    free(o1);
}

TEST(command_errors_and_exit_statuses) {
    const char *m = train_clip();
    struct {
        const char *args;
        int rc;
        const char *msg;
    } cases[] = {
        {"--attribute colour", 1, "shapes has no attribute 'colour' (its attributes: shape, color, size, location)"},
        {"--prompt 'a photo'", 1, "the prompt template \"a photo\" has no {}"},
        {"--classes red,green", 1, "2 class names given, but attribute 'shape' of shapes has 7 classes"},
        {"--classes 'a,,b'", 2, "option --classes: word 2 of \"a,,b\" is empty"},
        {"--split nonsense", 2, "--split"},
    };
    char cmd[4096], *o = NULL;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(cmd, sizeof cmd, "%s zeroshot --model %s --count 20 -q %s", t_simlearn(), m, cases[i].args);
        int rc = t_run(cmd, &o);
        if (rc != cases[i].rc) T_FAIL("%s: exit %d, expected %d: %s", cases[i].args, rc, cases[i].rc, o);
        ASSERT_CONTAINS(o, cases[i].msg);
        free(o);
    }
    snprintf(cmd, sizeof cmd, "%s zeroshot --count 20 -q", t_simlearn());
    ASSERT_EQ_INT(t_run(cmd, &o), 2);
    ASSERT_CONTAINS(o, "--model is required");
    free(o);
    /* A model without a text tower. */
    const char *s = t_path("s.safetensors");
    snprintf(cmd, sizeof cmd,
             "%s train --count 64 --size 16 --batch 16 --steps 1 --threads 1 --encoder 'conv(4,3,stride=2,pad=1),bn,"
             "relu,flatten,linear(8)' --projector 'linear(8)' -q -o %s",
             t_simlearn(), s);
    run_ok(cmd, &o);
    free(o);
    snprintf(cmd, sizeof cmd, "%s zeroshot --model %s --count 20 -q", t_simlearn(), s);
    ASSERT_EQ_INT(t_run(cmd, &o), 1);
    ASSERT_CONTAINS(o, "s.safetensors: not a CLIP model (no text tower)");
    free(o);
}

/* report on a CLIP model has a zero-shot table whose accuracies are those of
 * simlearn zeroshot with the default prompt, attribute by attribute. */
TEST(report_of_a_clip_model_has_the_zeroshot_accuracies) {
    const char *m = train_clip();
    char cmd[4096], html_path[1024], *o = NULL;
    snprintf(html_path, sizeof html_path, "%s", t_path("r.html"));
    snprintf(cmd, sizeof cmd, "%s report --model %s --count %d --no-tsne --no-probe --threads 1 -q -o %s",
             t_simlearn(), m, N_VAL, html_path);
    run_ok(cmd, &o);
    free(o);
    FILE *f = fopen(html_path, "rb");
    ASSERT_TRUE(f != NULL);
    static char html[1 << 22];
    size_t len = fread(html, 1, sizeof html - 1, f);
    fclose(f);
    html[len] = 0;
    ASSERT_CONTAINS(html, "<h3>Zero-shot accuracy</h3>");
    char row[512] = "<tr><td>clip</td><td>a photo of a {}</td>";
    static const char *const attrs[] = {"shape", "color", "size", "location"};
    for (size_t k = 0; k < 4; k++) {
        snprintf(cmd, sizeof cmd, "%s zeroshot --model %s --count %d --attribute %s --threads 1 -q", t_simlearn(), m,
                 N_VAL, attrs[k]);
        run_ok(cmd, &o);
        unsigned long right = 0, n = 0;
        const char *acc = strstr(o, "\naccuracy ");
        ASSERT_TRUE(acc != NULL);
        ASSERT_EQ_INT(sscanf(strchr(acc, '(') , "(%lu of %lu)", &right, &n), 2);
        ASSERT_EQ_INT((int)n, N_VAL);
        snprintf(row + strlen(row), sizeof row - strlen(row), "<td>%.1f%%</td>", 100.0 * (double)right / (double)n);
        free(o);
    }
    strcat(row, "</tr>");
    ASSERT_CONTAINS(html, row);
}
