/* Tests of the API's conventions that a compiler cannot see: every
 * destructor accepts NULL, and every sl_<x>_config_default fills its struct
 * with the documented defaults whatever the struct held before, defaults
 * that the function they configure accepts. tests/test_names.sh checks that
 * every destructor and every defaults function of the headers is called here. */
#include "test.h"

/* A struct full of garbage, so a default that forgets a field shows. */
#define GARBAGE(x) memset(&(x), 0xA5, sizeof(x))

TEST(destroy_accepts_null) {
    /* base */
    sl_alias_destroy(NULL);
    sl_progress_destroy(NULL);
    sl_afile_abort(NULL);
    sl_allocator_free(NULL);
    /* io */
    sl_array_destroy(NULL);
    sl_tensors_destroy(NULL);
    sl_wordvecs_destroy(NULL);
    sl_words_subword_destroy(NULL);
    /* nn, loss */
    sl_model_destroy(NULL);
    sl_optim_destroy(NULL);
    sl_mae_destroy(NULL);
    sl_loss_workspace_destroy(NULL);
    /* data */
    sl_data_destroy(NULL);
    sl_augment_destroy(NULL);
    sl_batcher_destroy(NULL);
    /* index, eval, geom */
    sl_hnsw_destroy(NULL);
    sl_ivfpq_destroy(NULL);
    sl_flat_index_destroy(NULL);
    sl_shards_destroy(NULL);
    sl_logreg_precond_destroy(NULL);
    sl_probe_result_destroy(NULL);
    sl_geom_abtt_destroy(NULL);
    /* train, words, viz */
    sl_trainer_destroy(NULL);
    sl_embedding_destroy(NULL);
    sl_encoder_destroy(NULL);
    sl_zeroshot_result_destroy(NULL);
    sl_vocab_destroy(NULL);
    sl_words_model_destroy(NULL);
    sl_words_edges_destroy(NULL);
    sl_senses_destroy(NULL);
    sl_pca_destroy(NULL);
    sl_jsonl_destroy(NULL);
    sl_sheet_destroy(NULL);
}

/* sl_array_destroy also resets an array it freed, so a second call is harmless. */
TEST(array_destroy_resets) {
    sl_array a;
    size_t shape[2] = {3, 4};
    ASSERT_OK(sl_array_alloc(&a, SL_F32, 2, shape));
    sl_array_destroy(&a);
    ASSERT_TRUE(a.data == NULL);
    ASSERT_EQ_INT(a.ndim, 0);
    sl_array_destroy(&a);
}

TEST(base_io_nn_loss_defaults) {
    sl_optim_config o;
    GARBAGE(o);
    sl_optim_config_default(&o, SL_OPT_ADAMW);
    ASSERT_EQ_INT(o.kind, SL_OPT_ADAMW);
    ASSERT_TRUE(o.weight_decay == 0.01f && o.beta1 == 0.9f && o.beta2 == 0.999f && o.eps == 1e-8f);
    ASSERT_TRUE(o.momentum == 0.0f && !o.nesterov && !o.decay_all && o.trust == 0.001f);
    GARBAGE(o);
    sl_optim_config_default(&o, SL_OPT_LARS);
    ASSERT_TRUE(o.kind == SL_OPT_LARS && o.momentum == 0.9f && o.weight_decay == 0.0f);

    sl_loss_config l;
    GARBAGE(l);
    sl_loss_config_default(&l, SL_OBJ_INFONCE);
    ASSERT_TRUE(l.objective == SL_OBJ_INFONCE && l.sim == SL_SIM_COSINE && l.tau == 0.1 && !l.learnable_tau);
    ASSERT_TRUE(l.eps == 1e-8 && l.margin == 0 && !l.exact && l.log_scale_min == 0.0);
    ASSERT_NEAR(l.log_scale, log(10.0), 1e-12);
    GARBAGE(l);
    sl_loss_config_default(&l, SL_OBJ_CLIP);
    ASSERT_TRUE(l.learnable_tau && l.tau == 0.07);
    ASSERT_NEAR(l.log_scale_max, log(100.0), 1e-12);
    GARBAGE(l);
    sl_loss_config_default(&l, SL_OBJ_TRIPLET);
    ASSERT_TRUE(l.margin == 0.2 && !l.learnable_tau);
}

TEST(data_defaults) {
    sl_data_config d;
    GARBAGE(d);
    sl_data_config_default(&d);
    ASSERT_STREQ(d.source, "shapes");
    ASSERT_TRUE(d.split == SL_SPLIT_TRAIN && d.seed == 0 && d.size == 0 && d.channels == 0);
    ASSERT_TRUE(d.val_fraction < 0 && d.test_fraction < 0 && d.labels == NULL && d.image_dir == NULL);
    ASSERT_TRUE(d.shapes_count == 0 && !d.shapes_rotate && d.shapes_noise == 0);

    sl_batch_config b;
    GARBAGE(b);
    sl_batch_config_default(&b);
    ASSERT_TRUE(b.data == NULL && b.aug == NULL && b.aug2 == NULL && b.mode == SL_BATCH_TWO_VIEWS);
    ASSERT_TRUE(b.batch_size == 256 && b.shuffle && b.drop_last && b.threads == 1 && b.prefetch == 2);
    ASSERT_TRUE(b.epochs == 0 && b.start == 0 && !b.normalize);
}

TEST(index_defaults_are_accepted) {
    float x[6 * 2] = {0, 0, 1, 0, 0, 1, 5, 5, 5, 6, 6, 5};
    sl_flat_config f;
    GARBAGE(f);
    sl_flat_config_default(&f);
    ASSERT_TRUE(f.metric == SL_METRIC_L2 && f.k == 10 && !f.exclude_self && f.query_offset == 0);
    ASSERT_TRUE(f.max_block_bytes == 0 && f.progress == NULL);
    f.k = 3;
    int64_t ids[3];
    float sc[3];
    ASSERT_OK(sl_flat_search(x, 6, 2, x, 1, 2, &f, ids, sc));
    ASSERT_EQ_INT(ids[0], 0);

    sl_hnsw_config h;
    GARBAGE(h);
    sl_hnsw_config_default(&h);
    ASSERT_TRUE(h.dim == 0 && h.metric == SL_METRIC_L2 && h.M == 16 && h.ef_construction == 200 && h.seed == 0);
    sl_hnsw *ix;
    ASSERT_FAILS(sl_hnsw_create(&h, &ix), SL_ERR_ARG, "dimension 0");
    h.dim = 2;
    ASSERT_OK(sl_hnsw_create(&h, &ix));
    ASSERT_OK(sl_hnsw_add(ix, x, 6, NULL, NULL, NULL, NULL));
    ASSERT_OK(sl_hnsw_check(ix));
    sl_hnsw_destroy(ix);

    sl_knngraph_config g;
    GARBAGE(g);
    sl_knngraph_config_default(&g);
    ASSERT_TRUE(g.metric == SL_METRIC_L2 && g.k == 10 && !g.approximate && g.M == 16 && g.ef_construction == 200);
    ASSERT_TRUE(g.ef == 64 && g.seed == 0 && g.progress == NULL && g.stop == NULL);
    g.k = 2;
    int64_t gi[6 * 2];
    float gl[6 * 2];
    ASSERT_OK(sl_knngraph_build(x, 6, 2, &g, gi, gl));
    ASSERT_TRUE(gi[0] == 1 || gi[0] == 2);

    sl_ivfpq_config v;
    GARBAGE(v);
    sl_ivfpq_config_default(&v);
    ASSERT_TRUE(v.dim == 0 && v.metric == SL_METRIC_L2 && v.nlist == 0 && v.M == 0 && v.nbits == 8);
    ASSERT_TRUE(v.iters == 25 && v.seed == 0);
    sl_ivfpq *iv;
    ASSERT_FAILS(sl_ivfpq_create(&v, &iv), SL_ERR_ARG, "dimension");
    v.dim = 2;
    ASSERT_OK(sl_ivfpq_create(&v, &iv));
    float y[300 * 2];
    for (size_t i = 0; i < 300 * 2; i++) y[i] = (float)((i * 7919) % 101);
    ASSERT_OK(sl_ivfpq_train(iv, y, 300, NULL));
    ASSERT_OK(sl_ivfpq_add(iv, y, 300, NULL, NULL, NULL, NULL));
    sl_ivfpq_search_config vs;
    GARBAGE(vs);
    sl_ivfpq_search_config_default(&vs);
    ASSERT_TRUE(vs.k == 10 && vs.nprobe == 8 && vs.rerank == 0 && vs.base == NULL && vs.base_rows == 0);
    ASSERT_TRUE(vs.filter == NULL);
    vs.k = 1;
    ASSERT_OK(sl_ivfpq_search(iv, y, 1, &vs, gi, gl));
    sl_ivfpq_info vi;
    sl_ivfpq_get_info(iv, &vi);
    ASSERT_TRUE(vi.nlist == 7 && vi.M == 1 && vi.size == 300); /* 4 sqrt(300) capped at 300 / 39; dim / 8 at least 1 */
    sl_ivfpq_destroy(iv);
}

TEST(eval_defaults_are_accepted) {
    sl_lbfgs_config o;
    GARBAGE(o);
    sl_lbfgs_config_default(&o);
    ASSERT_TRUE(o.history == 10 && o.max_iter == 500 && o.gtol == 1e-5 && o.ftol == 1e-10 && o.past == 0);
    ASSERT_TRUE(o.c1 == 1e-4 && o.c2 == 0.9 && o.max_linesearch == 25);
    ASSERT_TRUE(o.precond == NULL && o.callback == NULL && o.stop == NULL);

    sl_probe_config p;
    GARBAGE(p);
    sl_probe_config_default(&p);
    ASSERT_TRUE(p.lambdas == NULL && p.n_lambdas == 0 && p.val_fraction == 0.1 && p.standardize && p.seed == 1);
    ASSERT_TRUE(p.precond_rows == 8192 && p.progress_stream == NULL && p.stop == NULL && p.lbfgs.stop == NULL);
    ASSERT_TRUE(p.model == SL_PROBE_LOGREG && p.svm.c == 1 && p.svm.stop == NULL);

    sl_svm_config v;
    GARBAGE(v);
    sl_svm_config_default(&v);
    ASSERT_TRUE(v.c == 1 && v.loss == SL_SVM_SQUARED_HINGE && v.multi == SL_SVM_OVR && v.tol == 0.1);
    ASSERT_TRUE(v.max_iter == 1000 && v.bias == 1 && v.seed == 0 && v.stop == NULL);
    float sx[4] = {1, 0, -1, 0};
    int32_t sy[2] = {1, 0};
    double th[6];
    ASSERT_OK(sl_svm_fit(&v, sx, sy, 2, 2, 2, th, NULL));
    ASSERT_TRUE(th[2] > 0 && th[0] < 0);

    sl_knn_config k;
    GARBAGE(k);
    sl_knn_config_default(&k);
    ASSERT_TRUE(k.k == 0 && k.vote == SL_VOTE_MAJORITY && k.tau == 0.07 && k.metric == SL_METRIC_L2);
    int64_t ids[2 * 3] = {0, 1, 2, 3, 4, 5}, base[6] = {7, 7, 8, 9, 9, 9}, pred[2];
    float sc[2 * 3] = {0, 1, 2, 0, 1, 2};
    ASSERT_OK(sl_knn_classify(ids, sc, 2, 3, base, 6, &k, pred));
    ASSERT_EQ_INT(pred[0], 7);
    ASSERT_EQ_INT(pred[1], 9);

    sl_retrieval_config r;
    GARBAGE(r);
    sl_retrieval_config_default(&r);
    ASSERT_TRUE(r.metric == SL_METRIC_L2 && !r.exclude_self && r.nK == 3 && r.progress == NULL);
    ASSERT_TRUE(r.Ks[0] == 1 && r.Ks[1] == 5 && r.Ks[2] == 10);
    float x[12];
    int64_t lab[12];
    for (int i = 0; i < 12; i++) x[i] = (float)(i / 6) * 10 + (float)i * 0.01f, lab[i] = i / 6;
    double rec[3], prec[3];
    ASSERT_OK(sl_retrieval_labelled(x, 12, lab, x, 12, lab, 1, &r, rec, prec, NULL, NULL));
    ASSERT_NEAR(rec[0], 1.0, 0);
}

TEST(train_words_viz_defaults) {
    sl_train_config t;
    GARBAGE(t);
    sl_train_config_default(&t);
    ASSERT_STREQ(t.data, "shapes");
    ASSERT_TRUE(t.objective == SL_OBJ_INFONCE && t.learn_tau == -1 && t.margin < 0 && t.wd < 0 && t.warmup < 0);
    ASSERT_TRUE(t.val_fraction < 0 && t.seed == 1 && t.out == NULL && t.resume == NULL && t.stop == NULL);
    ASSERT_TRUE(t.steps == 0 && t.epochs == 0 && t.batch == 0 && t.threads == 0 && t.progress_stream == NULL);

    sl_embed_config e;
    GARBAGE(e);
    sl_embed_config_default(&e);
    ASSERT_TRUE(e.model == NULL && e.data == NULL && e.split == SL_SPLIT_TRAIN && e.val_fraction < 0);
    ASSERT_TRUE(!e.captions && !e.projector && !e.normalize && e.batch == 0 && e.progress == NULL && e.stop == NULL);

    sl_encoder_config en;
    GARBAGE(en);
    sl_encoder_config_default(&en);
    ASSERT_TRUE(en.batch == 0 && en.threads == 0 && !en.normalize && en.stop == NULL);

    sl_zeroshot_config z;
    GARBAGE(z);
    sl_zeroshot_config_default(&z);
    ASSERT_TRUE(z.embed.model == NULL && z.embed.split == SL_SPLIT_VAL && z.embed.val_fraction < 0 && z.stop == NULL);
    ASSERT_TRUE(!z.embed.projector && z.embed.progress == NULL && z.embed.stop == NULL && z.attribute == NULL);
    ASSERT_TRUE(z.classes == NULL && z.n_classes == 0);
    ASSERT_STREQ(z.prompt, "a photo of a {}");

    sl_demo_config dm;
    GARBAGE(dm);
    sl_demo_config_default(&dm);
    ASSERT_STREQ(dm.out_dir, "demo-out");
    ASSERT_TRUE(dm.steps == 200 && dm.threads == 0 && dm.seed == 1 && dm.progress_stream == NULL && dm.stop == NULL);

    sl_vocab_config v;
    GARBAGE(v);
    sl_vocab_config_default(&v);
    ASSERT_TRUE(v.min_count == 5 && v.max_size == 0 && !v.lowercase);

    sl_words_config w;
    GARBAGE(w);
    sl_words_config_default(&w);
    ASSERT_TRUE(w.arch == SL_WORDS_SKIPGRAM && w.loss == SL_WORDS_NEG && w.negatives == SL_WORDS_SHARED);
    ASSERT_TRUE(w.dim == 100 && w.window == 5 && w.negative == 5 && w.sample == 1e-4 && w.epochs == 5);
    ASSERT_TRUE(w.vocab.min_count == v.min_count && w.vocab.max_size == v.max_size && !w.vocab.lowercase);
    ASSERT_TRUE(w.checkpoint == NULL && w.stop_after_rounds == 0 && w.stop_at_words == 0 && w.stop == NULL);

    sl_words_poincare_config pc;
    GARBAGE(pc);
    sl_words_poincare_config_default(&pc);
    ASSERT_TRUE(pc.dim == 50 && pc.negative == 10 && pc.lr == 0.1 && pc.epochs == 50 && pc.burn_in == 10);
    ASSERT_TRUE(pc.burn_in_lr == 0.01 && pc.dampening == 0.75 && pc.epsilon == 1e-5 && pc.init_range == 1e-3);
    ASSERT_TRUE(pc.threads == 1 && pc.seed == 1 && pc.stop == NULL && pc.progress == NULL);
    sl_words_embed_config we;
    GARBAGE(we);
    sl_words_embed_config_default(&we);
    ASSERT_TRUE(we.method == SL_WORDS_AVG && we.sif_a == 1e-3 && we.counts == NULL && we.total == 0);
    ASSERT_TRUE(we.component == NULL);

    sl_tsne_config ts;
    GARBAGE(ts);
    sl_tsne_config_default(&ts);
    ASSERT_TRUE(ts.perplexity == 30 && ts.theta == 0.5 && ts.max_iter == 1000 && ts.exaggeration_iter == 250);
    ASSERT_TRUE(ts.exaggeration == 12 && ts.learning_rate <= 0 && ts.init == SL_TSNE_INIT_PCA && ts.seed == 1);
    ASSERT_TRUE(ts.progress == NULL && ts.stop == NULL);

    sl_grid_config g;
    GARBAGE(g);
    sl_grid_config_default(&g);
    ASSERT_TRUE(g.scale == 2 && g.font_scale == 1 && g.title == NULL);

    sl_report_config rp;
    GARBAGE(rp);
    sl_report_config_default(&rp);
    ASSERT_STREQ(rp.title, "simlearn report");
    ASSERT_TRUE(rp.queries == 8 && rp.neighbours == 8 && rp.knn_k == 10 && rp.tsne && rp.probe && rp.seed == 1);
    ASSERT_TRUE(rp.reps == NULL && rp.n_reps == 0 && rp.images == NULL && rp.progress_stream == NULL);
}
