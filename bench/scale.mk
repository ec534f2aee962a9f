# bench-scale: data-parallel R1 training on Fashion-MNIST (no augmentation, NT-Xent tau 0.5,
# global batch 256, Adam 1e-3), simlearn under mpirun against PyTorch DDP over gloo
# (bench/scale_ddp.py), in the same run: 1 process x 1 thread, 2 ranks x 1 thread (global
# negatives), 1 process x 2 threads, SCALE_WARMUP untimed then SCALE_STEPS timed steps each.
# Ends with "scale: simlearn <img/s> img/s on 2 ranks (efficiency ..), pytorch-ddp <img/s>
# img/s on 2 ranks (efficiency ..), ratio <simlearn img/s / pytorch img/s>".
# First, the collectives themselves (bench/dist_comm.c: sums and allgathers of 4 B to
# 64 MiB over 2 ranks), for the scaling model of docs/scaling.md.
# Quick run: make bench-scale SCALE_STEPS=5
SCALE_STEPS ?= 60
SCALE_WARMUP ?= 5
BENCHES += bench-scale

$(BUILD)/bench/dist_comm: bench/dist_comm.c $(BUILD)/libsimlearn.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libsimlearn.a $(LDLIBS)

.PHONY: bench-scale
bench-scale: all $(BUILD)/bench/dist_comm
	@scripts/deps.sh bench
	@echo "CPU: $$(lscpu | sed -n 's/^Model name: *//p')"
	@echo "== collectives over 2 ranks (bench/dist_comm.c)"
	@OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
	  mpirun -np 2 --bind-to none --mca btl self,vader $(BUILD)/bench/dist_comm 20
	@SCALE_STEPS=$(SCALE_STEPS) SCALE_WARMUP=$(SCALE_WARMUP) bench/scale_run.sh
