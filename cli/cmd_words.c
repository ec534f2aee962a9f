/* simlearn words train|analogy|similarity|nearest|senses|embed|poincare|poincare-eval:
 * word vectors from a corpus, their standard evaluations and queries,
 * vectors of lines of text made from them, and Poincaré embeddings of a
 * hierarchy. */
#include "cli.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- shared helpers ---------------------------------------------------------*/
/* Vectors, and the subword model when the file is one (.slsw): its
 * vocabulary's vectors are then *out, owned by *sw (NULL otherwise). */
static int load_model(const char *path, long long abtt, sl_wordvecs **out, sl_words_subword **sw) {
    *sw = NULL;
    if (!sl_words_subword_file(path)) {
        sl_status s = sl_words_load(path, out);
        if (s == SL_OK && abtt > 0) s = sl_geom_abtt((*out)->vecs, (*out)->n, (*out)->dim, (size_t)abtt);
        if (s) {
            sl_wordvecs_destroy(*out);
            return cli_fail(s);
        }
        return 0;
    }
    if (abtt > 0)
        return cli_usage_error("--abtt does not apply to a subword model (%s): its n-gram vectors would not follow", path);
    sl_status s = sl_words_subword_load(path, sw);
    if (s) return cli_fail(s);
    *out = (sl_wordvecs *)sl_words_subword_vecs(*sw);
    return 0;
}

static void free_model(sl_wordvecs *w, sl_words_subword *sw) {
    if (sw)
        sl_words_subword_destroy(sw);
    else
        sl_wordvecs_destroy(w);
}

#define OPT_ABTT \
    {"abtt", 0, CLI_INT, "0", "all-but-the-top: remove the mean and this many top principal directions first (0 = off)", NULL, 0, 1000, false}

/* ---- train ------------------------------------------------------------------*/
/* The first Ctrl-C sets the flag the trainer polls (every thread, at every
 * sentence end): it writes its checkpoint and stops. A second one ends the
 * process at once (the last complete checkpoint stays as it was: they are
 * written to a temporary file and renamed). See cli_stop_begin. */

static const cli_opt train_opts[] = {
    {"output", 'o', CLI_STR, NULL, "output vectors file", NULL, 0, 0, true},
    {"format", 0, CLI_CHOICE, "bin", "output format: word2vec binary, text (.vec), or .npy + .vocab", "bin|text|npy", 0, 0, false},
    {"model", 0, CLI_CHOICE, "skipgram", "architecture; sent2vec: each word of a line is predicted from the mean of "
     "the line's other words and word bigrams (sentence vectors: words embed --method sent2vec)", "skipgram|cbow|sent2vec",
     0, 0, false},
    {"loss", 0, CLI_CHOICE, "ns", "negative sampling, or the exact full softmax (small vocabularies)", "ns|softmax", 0, 0, false},
    {"dim", 0, CLI_INT, "100", "vector dimension", NULL, 1, 10000, false},
    {"window", 0, CLI_INT, "5", "maximum window (each word draws 1..window)", NULL, 1, 1000, false},
    {"negative", 0, CLI_INT, "5", "negatives per prediction (per window with --negatives shared)", NULL, 1, 1000, false},
    {"negatives", 0, CLI_CHOICE, "shared",
     "per-pair: each prediction draws its own negatives (word2vec, gensim, fastText); shared: one draw per centre "
     "word serves its whole window, batched (faster, a different algorithm)", "per-pair|shared", 0, 0, false},
    {"sample", 0, CLI_FLOAT, "1e-4", "subsampling threshold (0 = off)", NULL, 0, 0.999, false},
    {"lr", 0, CLI_FLOAT, "0.055", "start learning rate (--model sent2vec: 0.5, subwords (--maxn > 0): 0.045, unless given)", NULL, 1e-9, 10, false},
    {"min-lr", 0, CLI_FLOAT, "0", "end learning rate: the rate falls linearly from --lr to this over all epochs "
     "(0: to lr x 1e-4, as word2vec; gensim: --lr 0.025 --min-lr 0.0001)", NULL, 0, 10, false},
    {"ns-exponent", 0, CLI_FLOAT, "0.5", "negatives are drawn with probability ∝ count^this (fastText 0.5; word2vec "
     "and gensim 0.75; 0 = uniform)", NULL, 0, 2, false},
    {"context-weight", 0, CLI_FLOAT, "0.25", "saved vectors are input + this × output (context) vectors (0 = the input "
     "vectors alone, as word2vec, gensim and fastText save; multi-sense models save their input rows; with subwords, "
     "words outside the vocabulary get the mean of their n-gram rows)", NULL, 0, 10, false},
    {"epochs", 0, CLI_INT, "5", "passes over the corpus", NULL, 1, 100000, false},
    {"min-count", 0, CLI_INT, "5", "drop words seen fewer times", NULL, 1, 1e15, false},
    {"max-vocab", 0, CLI_INT, "0", "keep at most this many words (0 = all)", NULL, 0, 4e9, false},
    {"lowercase", 0, CLI_FLAG, NULL, "lowercase ASCII letters while reading", NULL, 0, 0, false},
    {"senses", 0, CLI_INT, "1", "latent senses per frequent word (multi-sense vectors)", NULL, 1, 64, false},
    {"sense-min-count", 0, CLI_INT, "100", "a word needs this many occurrences to get several senses", NULL, 1, 1e15, false},
    {"hard-senses", 0, CLI_FLAG, NULL, "hard (most likely sense) instead of soft EM assignment", NULL, 0, 0, false},
    {"checkpoint", 0, CLI_STR, NULL, "write the training state here at every epoch end, and on Ctrl-C (then exit 130; "
     "a second Ctrl-C exits at once)", NULL, 0, 0, false},
    {"checkpoint-every", 0, CLI_FLOAT, "0", "also checkpoint every this many seconds (0 = epoch ends only)", NULL, 0, 1e9, false},
    {"resume", 0, CLI_STR, NULL, "continue from this checkpoint (its settings are used)", NULL, 0, 0, false},
    {"stop-after-epochs", 0, CLI_INT, "0", "stop after this many epochs of this run, with the checkpoint written "
     "(--resume continues; to train in parts); the vectors so far are written too", NULL, 0, 100000, false},
    {"cache-mb", 0, CLI_INT, "2048", "memory (MiB) for keeping the corpus as word ids between epochs (0 = re-read the file)", NULL, 0, 1e7, false},
    {"minn", 0, CLI_INT, "3", "subwords: shortest character n-gram (with --maxn)", NULL, 1, 100, false},
    {"maxn", 0, CLI_INT, "0", "subwords: longest character n-gram; 0 = no subwords (fastText: --minn 3 --maxn 6)", NULL, 0, 100, false},
    {"bucket", 0, CLI_INT, "2000000", "subwords and sent2vec: rows the n-grams or word bigrams are hashed into "
     "(memory: (words + bucket) x dim x 4 bytes)", NULL, 1, 2147483647, false},
    {"drop-bigrams", 0, CLI_INT, "4", "sent2vec: bigrams of the line left out of each prediction's context, at "
     "random (Sent2Vec's dropoutK)", NULL, 0, 100, false},
    {"save-model", 0, CLI_STR, NULL, "subwords and sent2vec: write the model (subwords: embeds any word; sent2vec: "
     "embeds lines) here; default: the output's name with .slsw in place of its extension", NULL, 0, 0, false},
    CLI_OPT_THREADS,
    CLI_OPT_SEED,
    CLI_OPT_QUIET,
    CLI_OPT_END};
static const cli_spec train_spec = {
    "simlearn words train CORPUS -o VECTORS [options]",
    "Learn word vectors from a text corpus (UTF-8 words separated by whitespace; lines are sentences)\n"
    "by skip-gram or CBOW, p(y|x) ∝ exp(u(y)·v(x)), with negative sampling or the full softmax, or a sentence\n"
    "model (--model sent2vec: word and word-bigram vectors whose mean is a line's vector).\n"
    "Speed is counted in raw words/s: every in-vocabulary word read, before subsampling.",
    train_opts, 1, 1,
    "examples:\n"
    "  simlearn words train corpus.txt -o vectors.bin --threads 2\n"
    "  simlearn words train corpus.txt -o senses.vec --format text --senses 3\n"
    "  simlearn words train corpus.txt -o v.bin --minn 3 --maxn 6 --bucket 200000   # also writes v.slsw\n"
    "  simlearn words train corpus.txt -o s.bin --model sent2vec   # also writes s.slsw (words embed)\n"
    "  simlearn words train corpus.txt -o v.bin --checkpoint v.ckpt   # then after Ctrl-C:\n"
    "  simlearn words train corpus.txt -o v.bin --checkpoint v.ckpt --resume v.ckpt"};

/* The subword model beside the vectors: --save-model, or the output's name
 * with .slsw for its extension. *used receives the path (malloc'ed). */
static sl_status save_subword_model(const sl_words_model *m, const char *given, const char *out, char **used,
                                    int *minn, int *maxn) {
    size_t n = strlen(out);
    const char *slash = strrchr(out, '/'), *dot = strrchr(out, '.');
    if (dot && (!slash || dot > slash + 1)) n = (size_t)(dot - out);
    char *path = given ? strdup(given) : malloc(n + 6);
    if (!path) return SL_ERR_NOMEM;
    if (!given) snprintf(path, n + 6, "%.*s.slsw", (int)n, out);
    *used = path;
    sl_words_model_ngrams(m, minn, maxn);
    return sl_words_model_save_subword(m, path);
}

/* The run's lines: vocabulary, words and speed, a planned stop, the ranks. */
static void print_train_summary(const sl_words_model *m, const sl_words_stats *st, long long stop_epochs,
                                const char *checkpoint) {
    const sl_vocab *v = sl_words_model_vocab(m);
    printf("vocabulary %zu words (%llu tokens per pass), %zu vector rows x %d\n", sl_vocab_size(v),
           (unsigned long long)sl_vocab_total(v), sl_words_model_rows(m), sl_words_model_dim(m));
    char loss[48];
    snprintf(loss, sizeof loss, isnan(st->loss) ? "none (no predictions were made)" : "%.4f", st->loss);
    printf("trained %llu raw words (%llu after subsampling) in %.2f s: %.0f words/s, final loss %s\n",
           (unsigned long long)st->raw_words, (unsigned long long)st->trained, st->seconds, st->words_per_sec, loss);
    if (st->interrupted)
        printf("stopped after %lld epochs as asked; the state is in %s (continue with --resume %s)\n", stop_epochs,
               checkpoint, checkpoint);
    if (sl_dist_size() > 1)
        printf("%d ranks; exchanges between the ranks %.2f s (%.1f%% of the time)\n", sl_dist_size(),
               st->exchange_seconds, st->seconds > 0 ? 100.0 * st->exchange_seconds / st->seconds : 0.0);
}

static int cmd_train(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&train_spec, argc, argv, &a);
    if (r) return r < 0 ? 0 : r;
    sl_words_config c;
    sl_words_config_default(&c);
    const char *arch = cli_str(&a, "model");
    c.arch = strcmp(arch, "cbow") == 0 ? SL_WORDS_CBOW : strcmp(arch, "sent2vec") == 0 ? SL_WORDS_SENT2VEC : SL_WORDS_SKIPGRAM;
    c.loss = strcmp(cli_str(&a, "loss"), "softmax") == 0 ? SL_WORDS_SOFTMAX : SL_WORDS_NEG;
    c.dim = (int)cli_int(&a, "dim");
    c.window = (int)cli_int(&a, "window");
    c.negative = (int)cli_int(&a, "negative");
    c.negatives = strcmp(cli_str(&a, "negatives"), "shared") == 0 ? SL_WORDS_SHARED : SL_WORDS_PER_PAIR;
    c.sample = cli_float(&a, "sample");
    c.lr = cli_float(&a, "lr");
    c.min_lr = cli_float(&a, "min-lr");
    c.ns_exponent = cli_float(&a, "ns-exponent");
    c.context_weight = cli_float(&a, "context-weight");
    c.epochs = (int)cli_int(&a, "epochs");
    c.vocab.min_count = (uint64_t)cli_int(&a, "min-count");
    c.vocab.max_size = (size_t)cli_int(&a, "max-vocab");
    c.vocab.lowercase = cli_flag(&a, "lowercase");
    c.senses = (int)cli_int(&a, "senses");
    c.sense_min_count = (uint64_t)cli_int(&a, "sense-min-count");
    c.hard_senses = cli_flag(&a, "hard-senses");
    c.threads = (int)cli_int(&a, "threads");
    c.seed = (uint64_t)cli_int(&a, "seed");
    c.checkpoint = cli_str(&a, "checkpoint");
    c.checkpoint_every = cli_float(&a, "checkpoint-every");
    c.cache_mb = (size_t)cli_int(&a, "cache-mb");
    c.stop_after_rounds = (uint64_t)cli_int(&a, "stop-after-epochs") * SL_WORDS_ROUNDS;
    c.minn = (int)cli_int(&a, "minn");
    c.maxn = (int)cli_int(&a, "maxn");
    if (!cli_given(&a, "lr")) /* the rates chosen for sent2vec and for subwords, as Python's Words.train */
        c.lr = c.arch == SL_WORDS_SENT2VEC ? SL_WORDS_SENT2VEC_LR : c.maxn > 0 ? SL_WORDS_SUBWORD_LR : c.lr;
    c.bucket = (uint32_t)cli_int(&a, "bucket");
    c.drop_bigrams = (int)cli_int(&a, "drop-bigrams");
    if (c.maxn == 0 && c.arch != SL_WORDS_SENT2VEC && cli_str(&a, "save-model") && !cli_str(&a, "resume"))
        return cli_usage_error("--save-model needs subwords (--maxn) or --model sent2vec");
    if (c.stop_after_rounds && !c.checkpoint) return cli_usage_error("--stop-after-epochs needs --checkpoint");
    c.progress = stderr;
    c.progress_mode = cli_progress_mode(&a);
    const char *fmt = cli_str(&a, "format"), *out = cli_str(&a, "output"), *corpus = a.pos[0];
    c.stop = cli_stop_begin();
    sl_words_model *m = NULL;
    sl_words_stats st;
    memset(&st, 0, sizeof st);
    sl_status s = cli_str(&a, "resume") ? sl_words_resume(corpus, cli_str(&a, "resume"), &c, &m, &st)
                                        : sl_words_train(corpus, &c, &m, &st);
    cli_stop_end();
    bool stopped = st.interrupted && !(c.stop_after_rounds && !*c.stop); /* not the planned stop */
    if (sl_dist_rank() != 0) { /* every rank holds the model; rank 0 reports and writes it */
        sl_words_model_destroy(m);
        return s == SL_ERR_INTERRUPTED || (s == SL_OK && stopped) ? 130 : s ? cli_fail(s) : 0;
    }
    if (s == SL_ERR_INTERRUPTED) {
        /* stats are written only once training has started */
        if (!st.interrupted)
            fprintf(stderr, "simlearn: %s; nothing to save yet\n", sl_error_message());
        else if (c.checkpoint)
            fprintf(stderr, "simlearn: interrupted; the state is in %s (continue with --resume %s)\n", c.checkpoint,
                    c.checkpoint);
        else
            fprintf(stderr, "simlearn: interrupted; nothing saved (--checkpoint FILE keeps the state)\n");
        return 130;
    }
    if (s) return cli_fail(s);
    if (stopped) {
        if (c.checkpoint)
            fprintf(stderr, "simlearn: interrupted; the state is in %s (continue with --resume %s)\n", c.checkpoint,
                    c.checkpoint);
        else
            fprintf(stderr, "simlearn: interrupted; nothing saved (--checkpoint FILE keeps the state)\n");
        sl_words_model_destroy(m);
        return 130;
    }
    if (strcmp(fmt, "npy") == 0)
        s = sl_words_save_npy(m, out);
    else
        s = sl_words_save(m, out, strcmp(fmt, "text") == 0 ? SL_W2V_TEXT : SL_W2V_BINARY);
    char *model_path = NULL;
    int minn = 0, maxn = 0;
    if (s == SL_OK && sl_words_model_bucket(m) > 0)
        s = save_subword_model(m, cli_str(&a, "save-model"), out, &model_path, &minn, &maxn);
    if (s) {
        free(model_path);
        sl_words_model_destroy(m);
        return cli_fail(s);
    }
    print_train_summary(m, &st, cli_int(&a, "stop-after-epochs"), c.checkpoint);
    printf("wrote %s\n", out);
    if (model_path && maxn == 0)
        printf("wrote %s (sentence model: word bigrams in %u buckets)\n", model_path, sl_words_model_bucket(m));
    else if (model_path)
        printf("wrote %s (subword model: n-grams of %d to %d characters in %u buckets)\n", model_path, minn, maxn,
               sl_words_model_bucket(m));
    free(model_path);
    sl_words_model_destroy(m);
    return 0;
}

/* ---- analogy ---------------------------------------------------------------*/
static const cli_opt analogy_opts[] = {
    {"questions", 0, CLI_STR, "questions-words.txt", "analogy questions (\": section\" and \"a b c d\" lines); the default is shipped in data/", NULL, 0, 0, false},
    {"restrict", 0, CLI_INT, "30000", "use only the first (most frequent) N words (0 = all)", NULL, 0, 1e12, false},
    {"method", 0, CLI_CHOICE, "add", "3CosAdd, 3CosMul or both", "add|mul|both", 0, 0, false},
    {"sections", 0, CLI_FLAG, NULL, "print every section's accuracy", NULL, 0, 0, false},
    OPT_ABTT,
    CLI_OPT_THREADS,
    CLI_OPT_END};
static const cli_spec analogy_spec = {
    "simlearn words analogy VECTORS [options]",
    "Accuracy on word analogies a:b :: c:d, answered by the best word (not a, b or c) among the top N:\n"
    "3CosAdd = argmax cos(x, b-a+c), 3CosMul = argmax cos'(x,b)cos'(x,c)/(cos'(x,a)+0.001), cos' = (cos+1)/2.\n"
    "A question counts when its four words are in the top N (case-insensitive).",
    analogy_opts, 1, 1, "example:\n  simlearn words analogy vectors.bin --restrict 30000 --method both"};

static void print_analogy(const char *label, const sl_analogy_result *r, bool sections) {
    printf("%s: %.2f%% (%zu/%zu)  semantic %.2f%% (%zu/%zu)  syntactic %.2f%% (%zu/%zu)  questions seen %zu of %zu\n",
           label, r->seen ? 100.0 * (double)r->correct / (double)r->seen : 0.0, r->correct, r->seen,
           r->sem_seen ? 100.0 * (double)r->sem_correct / (double)r->sem_seen : 0.0, r->sem_correct, r->sem_seen,
           r->syn_seen ? 100.0 * (double)r->syn_correct / (double)r->syn_seen : 0.0, r->syn_correct, r->syn_seen,
           r->seen, r->total);
    if (sections)
        for (size_t i = 0; i < r->nsections; i++)
            printf("  %-30s %5zu/%5zu = %6.2f%%  (%zu questions)\n", r->section[i].name, r->section[i].correct,
                   r->section[i].seen,
                   r->section[i].seen ? 100.0 * (double)r->section[i].correct / (double)r->section[i].seen : 0.0,
                   r->section[i].total);
}

static int cmd_analogy(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&analogy_spec, argc, argv, &a);
    if (r) return r < 0 ? 0 : r;
    sl_threads_set((int)cli_int(&a, "threads"));
    sl_wordvecs *w;
    sl_words_subword *sw;
    int rc = load_model(a.pos[0], cli_int(&a, "abtt"), &w, &sw);
    if (rc) return rc;
    char *questions = cli_data_opt(&a, "questions");
    const char *method = cli_str(&a, "method");
    bool sections = cli_flag(&a, "sections");
    for (int k = 0; k < 2 && rc == 0; k++) {
        sl_analogy_method mm = k == 0 ? SL_ANALOGY_ADD : SL_ANALOGY_MUL;
        if ((k == 0 && strcmp(method, "mul") == 0) || (k == 1 && strcmp(method, "add") == 0)) continue;
        sl_analogy_result res;
        sl_status s = sl_words_analogy(w, questions, (size_t)cli_int(&a, "restrict"), mm, &res);
        if (s) {
            rc = cli_fail(s);
            break;
        }
        print_analogy(k == 0 ? "3CosAdd" : "3CosMul", &res, sections);
    }
    free(questions);
    free_model(w, sw);
    return rc;
}

/* ---- similarity ---------------------------------------------------------------*/
static const cli_opt sim_opts[] = {
    {"pairs", 0, CLI_STR, "wordsim353.tsv,simlex999.txt",
     "comma-separated word-pair files (\"w1 w2 score\" lines); the defaults are shipped in data/", NULL, 0, 0, false},
    OPT_ABTT,
    CLI_OPT_END};
static const cli_spec sim_spec = {
    "simlearn words similarity VECTORS [options]",
    "Spearman (and Pearson) correlation between human similarity scores and cosine similarity,\n"
    "over the pairs whose two words are known (case-insensitive). With a subword model (.slsw from\n"
    "'words train --maxn N'), a word outside the vocabulary gets the mean of its character n-grams' vectors.",
    sim_opts, 1, 1, "example:\n  simlearn words similarity vectors.bin --abtt 2"};

static int cmd_similarity(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&sim_spec, argc, argv, &a);
    if (r) return r < 0 ? 0 : r;
    sl_wordvecs *w;
    sl_words_subword *sw;
    int rc = load_model(a.pos[0], cli_int(&a, "abtt"), &w, &sw);
    if (rc) return rc;
    char *list = cli_data_opt(&a, "pairs"), *save = NULL;
    for (char *p = strtok_r(list, ",", &save); p && rc == 0; p = strtok_r(NULL, ",", &save)) {
        sl_similarity_result res;
        sl_status s = sw ? sl_words_subword_similarity(sw, p, &res) : sl_words_similarity(w, p, &res);
        if (s) {
            rc = cli_fail(s);
            break;
        }
        const char *base = strrchr(p, '/');
        printf("%-20s Spearman %.4f  Pearson %.4f  pairs %zu/%zu (%.1f%% unknown)", base ? base + 1 : p, res.spearman,
               res.pearson, res.used, res.pairs, 100.0 * (double)(res.pairs - res.used) / (double)res.pairs);
        if (sw) printf(", %zu with a word known only by its character n-grams", res.by_ngrams);
        printf("\n");
    }
    free(list);
    free_model(w, sw);
    return rc;
}

/* ---- nearest ---------------------------------------------------------------------*/
static const cli_opt near_opts[] = {
    {"k", 'k', CLI_INT, "10", "how many neighbours", NULL, 1, 100000, false},
    {"metric", 0, CLI_CHOICE, "cosine", "cosine similarity, or the Poincaré distance (vectors from 'words poincare'; "
     "a query is then one word)", "cosine|poincare", 0, 0, false},
    OPT_ABTT,
    CLI_OPT_END};
static const cli_spec near_spec = {
    "simlearn words nearest VECTORS [QUERY...]",
    "The words most cosine-similar to a query. A query is a word or a sum such as \"king - man + woman\"\n"
    "(the query's own words are left out). Without queries, read them from standard input, one per line.\n"
    "With a subword model (.slsw), a word outside the vocabulary gets the mean of its character n-grams' vectors.",
    near_opts, 1, -1, "examples:\n  simlearn words nearest vectors.bin horse\n  echo 'paris - france + italy' | simlearn words nearest vectors.bin\n"
    "  simlearn words nearest mammals.npy --metric poincare dog.n.01\n"
    "  simlearn words nearest v.slsw 'unhorselike'"};

/* A Poincaré query: one word; prints the nearest rows by hyperbolic distance. */
static int answer_poincare(const sl_wordvecs *w, const char *query, size_t k) {
    char word[SL_WORDS_MAX_WORD + 2], extra[2];
    if (sscanf(query, " %101s %1s", word, extra) != 1 || strlen(word) > SL_WORDS_MAX_WORD) {
        printf("'%s': with --metric poincare a query is one word\n", query);
        return 1;
    }
    long id = sl_words_lookup(w, word);
    if (id < 0) {
        printf("'%s' is not in the vocabulary\n", word);
        return 1;
    }
    size_t *idx = malloc(k * sizeof *idx), found = 0, self = (size_t)id;
    float *dist = malloc(k * sizeof *dist);
    sl_status s = sl_words_poincare_nearest(w, w->vecs + self * w->dim, k, &self, 1, idx, dist, &found);
    if (s == SL_OK) {
        double norm = 0;
        for (size_t c = 0; c < w->dim; c++) norm += (double)w->vecs[self * w->dim + c] * w->vecs[self * w->dim + c];
        printf("%s: norm %.4f\n", word, sqrt(norm));
        for (size_t i = 0; i < found; i++) printf("%3zu  %-24s %.4f\n", i + 1, w->words[idx[i]], (double)dist[i]);
    }
    free(idx);
    free(dist);
    return s ? cli_fail(s) : 0;
}

/* The unit vector of a query word into u (dim floats): its row, or (with a
 * subword model) its n-grams' mean; -2 when it has neither (reported), else
 * its row or -1. */
static long query_word(const sl_wordvecs *w, const sl_words_subword *sw, const float *unit, const char *t, float *u) {
    long id = sl_words_lookup(w, t);
    if (id >= 0) {
        memcpy(u, unit + (size_t)id * w->dim, w->dim * sizeof *u);
        return id;
    }
    size_t n = sw ? sl_words_subword_vector(sw, t, u, NULL) : 0;
    if (n == 0) {
        printf("'%s' is not in the vocabulary%s\n", t, sw ? " and has no character n-gram" : "");
        return -2;
    }
    sl_rows_normalize(u, 1, w->dim);
    printf("'%s' is not in the vocabulary: its vector is the mean of %zu character n-grams\n", t, n);
    return -1;
}

/* Answer one query; returns 0, or 1 for an unknown word (already reported). */
static int answer(const sl_wordvecs *w, const sl_words_subword *sw, const float *unit, const char *query, size_t k) {
    size_t d = w->dim;
    float *q = calloc(2 * d, sizeof *q), *u = q + d;
    size_t excl[64], nex = 0;
    char *copy = strdup(query), *save = NULL;
    float sign = 1.0f;
    int rc = 0, terms = 0;
    for (char *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        if (strcmp(t, "+") == 0 || strcmp(t, "-") == 0) {
            sign = t[0] == '-' ? -1.0f : 1.0f;
            continue;
        }
        long id = query_word(w, sw, unit, t, u);
        if (id == -2) {
            rc = 1;
            break;
        }
        for (size_t c = 0; c < d; c++) q[c] += sign * u[c];
        if (id >= 0 && nex < 64) excl[nex++] = (size_t)id;
        sign = 1.0f;
        terms++;
    }
    if (rc == 0 && terms > 0) {
        size_t *idx = malloc(k * sizeof *idx), found = 0;
        float *sim = malloc(k * sizeof *sim);
        sl_status s = sl_words_nearest(unit, w->n, d, q, k, excl, nex, idx, sim, &found);
        if (s)
            rc = cli_fail(s);
        else
            for (size_t i = 0; i < found; i++) printf("%3zu  %-24s %.4f\n", i + 1, w->words[idx[i]], (double)sim[i]);
        free(idx);
        free(sim);
    }
    free(copy);
    free(q);
    return rc;
}

static int cmd_nearest(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&near_spec, argc, argv, &a);
    if (r) return r < 0 ? 0 : r;
    sl_wordvecs *w;
    sl_words_subword *sw;
    int rc = load_model(a.pos[0], cli_int(&a, "abtt"), &w, &sw);
    if (rc) return rc;
    bool hyper = strcmp(cli_str(&a, "metric"), "poincare") == 0;
    float *unit = NULL;
    sl_status s = hyper ? SL_OK : sl_words_unit(w, &unit);
    if (s) {
        free_model(w, sw);
        return cli_fail(s);
    }
    size_t k = (size_t)cli_int(&a, "k");
    if (a.npos > 1) {
        for (int i = 1; i < a.npos; i++) {
            if (a.npos > 2 && !hyper) printf("%s:\n", a.pos[i]);
            if (hyper ? answer_poincare(w, a.pos[i], k) : answer(w, sw, unit, a.pos[i], k)) rc = 1;
        }
    } else {
        char line[4096];
        for (;;) {
            fprintf(stderr, "query> ");
            fflush(stderr);
            if (!fgets(line, sizeof line, stdin)) break;
            line[strcspn(line, "\r\n")] = '\0';
            if (!line[strspn(line, " \t")]) continue;
            if (hyper)
                answer_poincare(w, line, k);
            else
                answer(w, sw, unit, line, k);
            fflush(stdout);
        }
        fputc('\n', stderr);
    }
    sl_allocator_free(unit);
    free_model(w, sw);
    return rc;
}

/* ---- senses -------------------------------------------------------------------------*/
static const cli_opt senses_opts[] = {
    {"k", 'k', CLI_INT, "10", "neighbours shown per sense", NULL, 1, 100000, false},
    CLI_OPT_END};
static const cli_spec senses_spec = {
    "simlearn words senses VECTORS WORD...",
    "For a multi-sense vector file (from 'words train --senses K'), print each sense of WORD with its\n"
    "prior p(z|word) and its nearest words (other words' senses shown as word#z).",
    senses_opts, 2, -1, "example:\n  simlearn words senses senses.vec bank"};

static int cmd_senses(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&senses_spec, argc, argv, &a);
    if (r) return r < 0 ? 0 : r;
    sl_senses *se;
    sl_status s = sl_senses_read(a.pos[0], &se);
    if (s) {
        return cli_fail(s);
    }
    float *unit;
    s = sl_words_unit(se->vecs, &unit);
    if (s) {
        sl_senses_destroy(se);
        return cli_fail(s);
    }
    /* Display names: "word" or "word#z" (the prior suffix dropped). */
    size_t rows = se->vecs->n, d = se->vecs->dim, k = (size_t)cli_int(&a, "k");
    char **label = calloc(rows, sizeof *label);
    for (size_t i = 0; i < se->nwords; i++)
        for (int z = 0; z < se->k[i]; z++) {
            char buf[256];
            if (se->k[i] == 1)
                snprintf(buf, sizeof buf, "%s", se->word[i]);
            else
                snprintf(buf, sizeof buf, "%s#%d", se->word[i], z + 1);
            label[se->first[i] + (size_t)z] = strdup(buf);
        }
    int rc = 0;
    size_t *idx = malloc(k * sizeof *idx);
    float *sim = malloc(k * sizeof *sim);
    for (int q = 1; q < a.npos; q++) {
        long wi = sl_senses_find(se, a.pos[q]);
        if (wi < 0) {
            printf("'%s' is not in the vocabulary\n", a.pos[q]);
            rc = 1;
            continue;
        }
        int ks = se->k[wi];
        size_t f0 = se->first[wi];
        printf("%s: %d sense%s\n", a.pos[q], ks, ks == 1 ? "" : "s");
        size_t excl[64];
        for (int z = 0; z < ks; z++) excl[z] = f0 + (size_t)z;
        for (int z = 0; z < ks; z++) {
            size_t found = 0;
            s = sl_words_nearest(unit, rows, d, unit + (f0 + (size_t)z) * d, k, excl, (size_t)ks, idx, sim, &found);
            if (s) {
                rc = cli_fail(s);
                break;
            }
            printf("  sense %d  prior %.3f:", z + 1, (double)se->prior[f0 + (size_t)z]);
            for (size_t i = 0; i < found; i++) printf(" %s(%.2f)", label[idx[i]], (double)sim[i]);
            printf("\n");
        }
    }
    for (size_t i = 0; i < rows; i++) free(label[i]);
    free(label);
    free(idx);
    free(sim);
    sl_allocator_free(unit);
    sl_senses_destroy(se);
    return rc;
}

/* ---- poincare ---------------------------------------------------------------------*/
static const cli_opt poincare_opts[] = {
    {"output", 'o', CLI_STR, NULL, "output vectors: NAME.npy (+ NAME.vocab) or a word2vec text file", NULL, 0, 0, true},
    {"format", 0, CLI_CHOICE, "npy", "output format: .npy + .vocab, or word2vec text", "npy|text", 0, 0, false},
    {"dim", 0, CLI_INT, "50", "dimension of the ball", NULL, 1, 10000, false},
    {"epochs", 0, CLI_INT, "50", "epochs after the burn-in", NULL, 0, 1000000, false},
    {"negative", 0, CLI_INT, "10", "negatives per edge (nodes that are not the child's parents)", NULL, 1, 1000, false},
    {"lr", 0, CLI_FLOAT, "0.1", "learning rate after the burn-in", NULL, 1e-9, 1000, false},
    {"burn-in", 0, CLI_INT, "10", "burn-in epochs at --burn-in-lr (0 = none)", NULL, 0, 1000000, false},
    {"burn-in-lr", 0, CLI_FLOAT, "0.01", "learning rate of the burn-in", NULL, 1e-9, 1000, false},
    {"dampening", 0, CLI_FLOAT, "0.75", "negatives are drawn with probability proportional to degree^dampening", NULL, 0, 1, false},
    {"holdout", 0, CLI_FLOAT, "0", "link prediction: hold out this fraction of the edges (keeping every node), train on "
     "the rest and rank the held-out edges", NULL, 0, 0.99, false},
    {"eval", 0, CLI_FLAG, NULL, "rank the training edges afterwards (reconstruction mean rank and MAP)", NULL, 0, 0, false},
    {"threads", 0, CLI_INT, "1", "worker threads, sharing the table without locks (0 = all cores; 1: the result "
     "depends on the seed only)", NULL, 0, 4096, false},
    CLI_OPT_SEED,
    CLI_OPT_QUIET,
    CLI_OPT_END};
static const cli_spec poincare_spec = {
    "simlearn words poincare EDGES -o VECTORS [options]",
    "Embed a hierarchy in the Poincaré ball (Nickel & Kiela 2017) by Riemannian SGD. EDGES holds \"child parent\"\n"
    "lines (spaces or tabs, '#' comments), usually a transitive closure: each node linked to all its ancestors.\n"
    "Each edge is pulled together against negatives by softmax over minus the hyperbolic distance\n"
    "d(u,v) = arcosh(1 + 2|u-v|^2/((1-|u|^2)(1-|v|^2))). The defaults are gensim's PoincareModel's.\n"
    "Under mpirun -np N every rank trains a share of each epoch's edges (8 rounds an epoch, after each of which\n"
    "the ranks add up their changes); rank 0 reports and writes.",
    poincare_opts, 1, 1,
    "examples:\n"
    "  simlearn words poincare mammals.tsv -o mammals.npy --eval\n"
    "  simlearn words poincare mammals.tsv -o mammals.npy --holdout 0.1\n"
    "  simlearn words nearest mammals.npy --metric poincare dog.n.01"};

static void print_eval(const char *what, const sl_words_poincare_eval *ev) {
    printf("%s: mean rank %.2f, MAP %.4f (%zu edges of %zu nodes)\n", what, ev->mean_rank, ev->map, ev->edges,
           ev->nodes);
}

/* Rank the edges (and the held-out ones); 0 or the exit status. */
static int poincare_report(const sl_wordvecs *w, const sl_words_edges *train, const sl_words_edges *test, bool eval) {
    sl_words_poincare_eval ev;
    sl_status s;
    if (eval) {
        if ((s = sl_words_poincare_evaluate(w, NULL, train, &ev))) return cli_fail(s);
        print_eval("reconstruction", &ev);
    }
    if (test) {
        if ((s = sl_words_poincare_evaluate(w, train, test, &ev))) return cli_fail(s);
        print_eval("link prediction", &ev);
    }
    return 0;
}

static int cmd_poincare(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&poincare_spec, argc, argv, &a);
    if (r) return r < 0 ? 0 : r;
    sl_words_poincare_config c;
    sl_words_poincare_config_default(&c);
    c.dim = (int)cli_int(&a, "dim");
    c.epochs = (int)cli_int(&a, "epochs");
    c.negative = (int)cli_int(&a, "negative");
    c.lr = cli_float(&a, "lr");
    c.burn_in = (int)cli_int(&a, "burn-in");
    c.burn_in_lr = cli_float(&a, "burn-in-lr");
    c.dampening = cli_float(&a, "dampening");
    c.threads = (int)cli_int(&a, "threads");
    c.seed = (uint64_t)cli_int(&a, "seed");
    c.progress = stderr;
    c.progress_mode = cli_progress_mode(&a);
    double holdout = cli_float(&a, "holdout");
    const char *out = cli_str(&a, "output");
    sl_words_edges *all = NULL, *train = NULL, *test = NULL;
    sl_status s = sl_words_edges_read(a.pos[0], &all);
    if (s) return cli_fail(s);
    if (holdout > 0) {
        s = sl_words_edges_split(all, holdout, c.seed, &train, &test);
        sl_words_edges_destroy(all);
        if (s) return cli_fail(s);
    } else {
        train = all;
    }
    const bool rank0 = sl_dist_rank() == 0; /* under mpirun every rank trains; rank 0 reports and writes */
    if (rank0) {
        printf("%zu nodes, %zu edges%s", train->nnodes, train->nedges, test ? "" : "\n");
        if (test) printf(" for training, %zu held out\n", test->nedges);
        fflush(stdout);
    }
    c.stop = cli_stop_begin();
    if (!rank0) c.progress = NULL;
    sl_wordvecs *w = NULL;
    sl_words_poincare_stats st;
    s = sl_words_poincare_train(train, &c, &w, &st);
    cli_stop_end();
    int rc = 0;
    if (!rank0) {
        rc = s == SL_ERR_INTERRUPTED ? 130 : s ? cli_fail(s) : 0;
        sl_wordvecs_destroy(w);
        sl_words_edges_destroy(train), sl_words_edges_destroy(test);
        return rc;
    }
    if (s == SL_ERR_INTERRUPTED) {
        fprintf(stderr, "simlearn: interrupted; nothing saved\n");
        rc = 130;
    } else if (s) {
        rc = cli_fail(s);
    } else {
        printf("trained %d epochs (%d burn-in) in %.2f s: %.0f edges/s, final loss %.4f", c.burn_in + c.epochs,
               c.burn_in, st.seconds, st.seconds > 0 ? (double)st.updates / st.seconds : 0.0, st.loss);
        if (sl_dist_size() > 1) printf(", on %d ranks", sl_dist_size());
        printf("\n");
        rc = poincare_report(w, train, test, cli_flag(&a, "eval"));
    }
    if (rc == 0) {
        s = strcmp(cli_str(&a, "format"), "text") == 0 ? sl_w2v_write(out, w, SL_W2V_TEXT)
                                                        : sl_words_vecs_save_npy(w, train->count, out);
        if (s)
            rc = cli_fail(s);
        else
            printf("wrote %s\n", out);
    }
    sl_wordvecs_destroy(w);
    sl_words_edges_destroy(train);
    sl_words_edges_destroy(test);
    return rc;
}

/* ---- poincare-eval -------------------------------------------------------------*/
static const cli_opt peval_opts[] = {
    {"edges", 0, CLI_STR, NULL, "the edges to rank (\"child parent\" lines)", NULL, 0, 0, true},
    {"known", 0, CLI_STR, NULL, "link prediction: the training edges, left out of the candidates", NULL, 0, 0, false},
    CLI_OPT_THREADS,
    CLI_OPT_END};
static const cli_spec peval_spec = {
    "simlearn words poincare-eval VECTORS --edges EDGES [--known TRAIN]",
    "Mean rank and MAP of Poincaré vectors: each parent v of a node u is ranked by hyperbolic distance among\n"
    "the rows that are not u and not one of u's parents (in EDGES or in --known): reconstruction when EDGES\n"
    "are the training edges, link prediction when they were held out of training and --known gives the rest.",
    peval_opts, 1, 1,
    "examples:\n  simlearn words poincare-eval mammals.npy --edges mammals.tsv\n"
    "  simlearn words poincare-eval emb.txt --edges test.tsv --known train.tsv"};

static int cmd_poincare_eval(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&peval_spec, argc, argv, &a);
    if (r) return r < 0 ? 0 : r;
    sl_threads_set((int)cli_int(&a, "threads"));
    sl_wordvecs *w = NULL;
    sl_words_edges *truth = NULL, *known = NULL;
    sl_status s = sl_words_load(a.pos[0], &w);
    if (s == SL_OK) s = sl_words_edges_read(cli_str(&a, "edges"), &truth);
    if (s == SL_OK && cli_str(&a, "known")) s = sl_words_edges_read(cli_str(&a, "known"), &known);
    sl_words_poincare_eval ev;
    if (s == SL_OK) s = sl_words_poincare_evaluate(w, known, truth, &ev);
    int rc = s ? cli_fail(s) : 0;
    if (rc == 0) print_eval(known ? "link prediction" : "reconstruction", &ev);
    sl_wordvecs_destroy(w);
    sl_words_edges_destroy(truth);
    sl_words_edges_destroy(known);
    return rc;
}

/* ---- embed --------------------------------------------------------------------------*/
static const cli_opt embed_opts[] = {
    {"vectors", 0, CLI_STR, NULL, "word vectors (word2vec .bin or text, fastText .vec, or NAME.npy with NAME.vocab), "
     "or a .slsw model", NULL, 0, 0, true},
    {"text", 0, CLI_STR, NULL, "the lines to embed, one vector per line (words split on ASCII whitespace)", NULL, 0, 0, true},
    {"output", 'o', CLI_STR, NULL, "output .npy (lines x dim, float32)", NULL, 0, 0, true},
    {"method", 0, CLI_CHOICE, "avg", "avg: mean of the known words' vectors; sif: weights a/(a+p(w)), then the first "
     "principal component removed; sent2vec: mean of the known words' and their bigrams' rows of a sentence model "
     "(--vectors S.slsw from words train --model sent2vec)", "avg|sif|sent2vec", 0, 0, false},
    {"sif-a", 0, CLI_FLOAT, "1e-3", "SIF's a", NULL, 1e-12, 1e6, false},
    {"counts", 0, CLI_STR, NULL, "SIF: word counts, \"word count\" per line (default: NAME.vocab of NAME.npy vectors; "
     "word2vec and fastText files have none)", NULL, 0, 0, false},
    {"component-in", 0, CLI_STR, NULL, "SIF: remove this component (a 1 x dim .npy from --component-out) instead of "
     "the first principal component of these lines", NULL, 0, 0, false},
    {"component-out", 0, CLI_STR, NULL, "SIF: write the component removed (1 x dim .npy)", NULL, 0, 0, false},
    CLI_OPT_END};
static const cli_spec embed_spec = {
    "simlearn words embed --vectors VECTORS --text LINES -o OUT.npy [options]",
    "One vector per line of text: the mean of its known words' vectors (exact word, else ignoring ASCII case;\n"
    "unknown words left out), or SIF (Arora et al. 2017): the mean weighted by a/(a+p(w)), p(w) the word's\n"
    "unigram probability, minus the projection on the first principal component of the lines' vectors\n"
    "(uncentred), or sent2vec (Pagliardini et al. 2018): the mean of the rows of its known words and of the\n"
    "bigrams of known words in a sentence model. A line without a known word gets the zero vector.",
    embed_opts, 0, 0,
    "examples:\n"
    "  simlearn words embed --vectors v.bin --text lines.txt -o avg.npy\n"
    "  simlearn words embed --vectors v.npy --text base.txt -o base.npy --method sif --component-out pc.npy\n"
    "  simlearn words embed --vectors v.npy --text queries.txt -o q.npy --method sif --component-in pc.npy\n"
    "  simlearn words embed --vectors s.slsw --text lines.txt -o s2v.npy --method sent2vec"};

/* The component of --component-in: a 1 x dim matrix. */
static int read_component(const char *path, size_t dim, float **out) {
    size_t rows, cols;
    sl_status s = sl_npy_read_matrix(path, out, &rows, &cols);
    if (s) return cli_fail(s);
    if (rows != 1 || cols != dim) {
        fprintf(stderr, "simlearn: error: %s: expected a 1 x %zu matrix (a component from --component-out), got %zu x %zu\n",
                path, dim, rows, cols);
        sl_allocator_free(*out);
        *out = NULL;
        return 1;
    }
    return 0;
}

/* SIF's counts: --counts, or those that come with the vectors (a .slsw
 * model's own: its vocabulary's counts, total their sum). */
static int embed_counts(const cli_args *a, const sl_wordvecs *w, const sl_words_subword *sw, uint64_t **counts,
                        sl_words_embed_config *c) {
    const char *file = cli_str(a, "counts"), *vectors = cli_str(a, "vectors");
    uint64_t *total = &c->total;
    if (sw && !file) {
        c->counts = sl_words_subword_counts(sw);
        for (size_t i = 0; i < w->n; i++) c->total += c->counts[i];
        return 0;
    }
    sl_status s = file ? sl_words_counts_read(w, file, counts, total) : sl_words_counts_load(w, vectors, counts, total);
    if (s == SL_ERR_NOTFOUND) {
        fprintf(stderr, "simlearn: error: SIF needs word counts, and %s; give them with --counts FILE (\"word count\" "
                "per line)\n", sl_error_message());
        return 1;
    }
    c->counts = *counts;
    return s ? cli_fail(s) : 0;
}

static int cmd_embed(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&embed_spec, argc, argv, &a);
    if (r) return r < 0 ? 0 : r;
    sl_words_embed_config c;
    sl_words_embed_config_default(&c);
    bool sif = strcmp(cli_str(&a, "method"), "sif") == 0;
    const char *opts[] = {"sif-a", "counts", "component-in", "component-out"};
    for (size_t i = 0; !sif && i < sizeof opts / sizeof *opts; i++)
        if (cli_given(&a, opts[i])) return cli_usage_error("--%s is for --method sif", opts[i]);
    sl_wordvecs *w;
    sl_words_subword *sw;
    int rc = load_model(cli_str(&a, "vectors"), 0, &w, &sw);
    if (rc) return rc;
    if (strcmp(cli_str(&a, "method"), "sent2vec") == 0) {
        int maxn = 1;
        if (sw) sl_words_subword_settings(sw, NULL, &maxn, NULL, NULL);
        if (maxn != 0) {
            free_model(w, sw);
            return cli_usage_error("--method sent2vec needs a sentence model (the .slsw that words train --model "
                                   "sent2vec writes); %s is %s", cli_str(&a, "vectors"),
                                   sw ? "a subword model" : "word vectors");
        }
        c.method = SL_WORDS_MODEL_MEAN;
        c.model = sw;
    }
    uint64_t *counts = NULL;
    float *comp_in = NULL, *comp = calloc(w->dim, sizeof *comp), *x = NULL;
    if (!comp) {
        free_model(w, sw);
        fprintf(stderr, "simlearn: error: out of memory\n");
        return 1;
    }
    if (sif) {
        c.method = SL_WORDS_SIF;
        c.sif_a = cli_float(&a, "sif-a");
        rc = embed_counts(&a, w, sw, &counts, &c);
        if (!rc && cli_str(&a, "component-in")) rc = read_component(cli_str(&a, "component-in"), w->dim, &comp_in);
        c.component = comp_in;
    }
    size_t n = 0;
    sl_words_embed_stats st;
    const char *text = cli_str(&a, "text"), *out = cli_str(&a, "output"), *cout = cli_str(&a, "component-out");
    sl_status s = rc ? SL_OK : sl_words_embed_file(w, &c, text, &x, &n, comp, &st);
    if (!rc && !s) s = sl_npy_write_matrix(out, x, n, w->dim);
    if (!rc && !s && cout) s = sl_npy_write_matrix(cout, comp, 1, w->dim);
    if (!rc && s) rc = cli_fail(s);
    if (!rc) {
        printf("%zu lines, %llu words, %llu with a vector (%.1f%%); %zu lines without a known word (zero vectors)\n",
               st.lines, (unsigned long long)st.words, (unsigned long long)st.known,
               st.words ? 100.0 * (double)st.known / (double)st.words : 0.0, st.empty);
        if (sif && comp_in)
            printf("SIF: a=%g, counts from %s%s; removed the component in %s\n", c.sif_a,
                   cli_str(&a, "counts") ? "" : "the vocabulary of ",
                   cli_str(&a, "counts") ? cli_str(&a, "counts") : cli_str(&a, "vectors"), cli_str(&a, "component-in"));
        else if (sif)
            printf("SIF: a=%g, counts from %s%s; removed the first principal component of these lines\n", c.sif_a,
                   cli_str(&a, "counts") ? "" : "the vocabulary of ",
                   cli_str(&a, "counts") ? cli_str(&a, "counts") : cli_str(&a, "vectors"));
        printf("wrote %s (%zu x %zu)%s%s\n", out, n, w->dim, cout ? " and the component to " : "", cout ? cout : "");
    }
    sl_allocator_free(x);
    sl_allocator_free(counts);
    sl_allocator_free(comp_in);
    free(comp);
    free_model(w, sw);
    return rc;
}

/* ---- vector --------------------------------------------------------------------------*/
static const cli_opt vector_opts[] = {CLI_OPT_END};
static const cli_spec vector_spec = {
    "simlearn words vector VECTORS [WORD...]",
    "Print the vector of each WORD (or of each line of standard input) as \"word v1 v2 ...\", the text format of\n"
    "word2vec and fastText's print-word-vectors, values to 9 significant digits (float32 exactly). With a subword\n"
    "model (.slsw), a word outside the vocabulary gets the mean of its character n-grams' vectors (zero when it\n"
    "has none, as fastText; a note goes to stderr); with other vectors, an unknown word is an error.",
    vector_opts, 1, -1,
    "examples:\n  simlearn words vector v.slsw horse unhorselike\n  simlearn words vector v.slsw < words.txt > words.vec"};

static int print_vector(const sl_wordvecs *w, const sl_words_subword *sw, const char *word, float *buf) {
    long row = sl_words_lookup(w, word);
    if (row < 0 && !sw) {
        fprintf(stderr, "simlearn: '%s' is not in the vocabulary\n", word);
        return 1;
    }
    if (row >= 0)
        memcpy(buf, w->vecs + (size_t)row * w->dim, w->dim * sizeof *buf);
    else if (sl_words_subword_vector(sw, word, buf, NULL) == 0)
        fprintf(stderr, "simlearn: '%s' has no character n-gram: zero vector\n", word);
    printf("%s", word);
    for (size_t c = 0; c < w->dim; c++) printf(" %.9g", (double)buf[c]);
    printf("\n");
    return 0;
}

static int cmd_vector(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&vector_spec, argc, argv, &a);
    if (r) return r < 0 ? 0 : r;
    sl_wordvecs *w;
    sl_words_subword *sw;
    int rc = load_model(a.pos[0], 0, &w, &sw);
    if (rc) return rc;
    float *buf = malloc(w->dim * sizeof *buf);
    if (!buf) {
        free_model(w, sw);
        return cli_fail(SL_ERR_NOMEM);
    }
    for (int i = 1; i < a.npos; i++) rc |= print_vector(w, sw, a.pos[i], buf);
    char line[4096];
    while (a.npos == 1 && fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0]) rc |= print_vector(w, sw, line, buf);
    }
    free(buf);
    free_model(w, sw);
    return rc;
}

static const cli_sub subs[] = {
    {"train", "learn word vectors from a corpus (skip-gram/CBOW, multi-sense)", cmd_train, true},
    {"analogy", "analogy accuracy (3CosAdd, 3CosMul) over the top-N words", cmd_analogy, false},
    {"similarity", "Spearman correlation with human word-similarity scores", cmd_similarity, false},
    {"nearest", "nearest words to a word or a sum of words (or an interactive prompt)", cmd_nearest, false},
    {"senses", "the senses of a word in a multi-sense file, with priors and neighbours", cmd_senses, false},
    {"poincare", "embed a hierarchy (\"child parent\" edges) in the Poincaré ball", cmd_poincare, true},
    {"poincare-eval", "mean rank and MAP of Poincaré vectors on edges (reconstruction, link prediction)",
     cmd_poincare_eval, false},
    {"embed", "one vector per line of text: the average or SIF of its words' vectors", cmd_embed, false},
    {"vector", "print the vectors of words (any word, with a subword model)", cmd_vector, false},
    {NULL, NULL, NULL, false}};

static int run(int argc, char **argv) { return cli_dispatch("words", subs, argc, argv); }

const cli_command cli_cmd_words = {"words", "word vectors: train, analogy, similarity, nearest, senses, embed, vector; Poincaré embeddings",
                                   run, true};
