"""Train the small model with a gofocal loss on one device and under a
tf.distribute strategy, from the same weights on the same data.

    distributed_train.py MODE RUNS

MODE:
    mirrored     MirroredStrategy over 2 logical CPU devices (configured here,
                 before TensorFlow initializes), then the same training on the
                 default (single-device) strategy in the same process.
    single       Single-device training only (the multi-worker reference).
    multiworker  MultiWorkerMirroredStrategy; TF_CONFIG (set by the caller)
                 names the cluster and this worker's index. Every worker
                 prints its result.
RUNS: comma-separated, of
    fit          model.compile(loss=...) and model.fit.
    ctl          a custom training loop: strategy.run, the per-sample loss
                 (reduction="none") and tf.nn.compute_average_loss with the
                 global batch size, as TensorFlow's distributed-training guide
                 writes it. (Keras 3's fit does not run under
                 MultiWorkerMirroredStrategy in Keras 3.15, whatever the loss:
                 its _maybe_symbolic_build reduces a PerReplica batch and fails.)

Global batch GLOBAL_BATCH, SAMPLES a multiple of it, no shuffling: every
step, each of the R replicas gets GLOBAL_BATCH / R rows of the global batch,
its loss is its rows' mean scaled by 1 / R, and the gradients are summed
over replicas, so the step is the single-device step on the global batch
(the mean of equal-sized means is the global mean); the epoch loss is
tracked per sample. Only float rounding differs.

Prints one JSON line: per loss, the loss history of each training run.
"""

import os
import sys

import where_common as common

MODE = sys.argv[1]
RUNS = sys.argv[2].split(",") if len(sys.argv) > 2 else ["fit"]
EPOCHS = 4
SAMPLES = 64
GLOBAL_BATCH = 16
ALPHA = [0.6, 0.5, 0.4, 0.3]

import tensorflow as tf  # noqa: E402

if MODE == "mirrored":
    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)

strategy = None
if MODE == "mirrored":
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
elif MODE == "multiworker":
    strategy = tf.distribute.MultiWorkerMirroredStrategy(
        communication_options=tf.distribute.experimental.CommunicationOptions(
            implementation=tf.distribute.experimental.CommunicationImplementation.RING,
            timeout_seconds=60))  # a collective whose peer died fails instead of hanging

import gofocal  # noqa: E402

common.deterministic(tf)
keras = tf.keras
x, y, classes_num = common.data(samples=SAMPLES)
# Each loss as compile() takes it, and per sample (for the custom loop).
LOSSES = {
    "FocalLoss": lambda reduction: gofocal.FocalLoss(classes_num=classes_num,
                                                     reduction=reduction),
    "focal_loss": lambda reduction: gofocal.focal_loss(classes_num),
    "BinaryFocalLoss": lambda reduction: gofocal.BinaryFocalLoss(
        apply_class_balancing=True, alpha=ALPHA, reduction=reduction),
}


def new_model(scope_strategy):
    with scope_strategy.scope():
        model = common.build_model(keras)
        model.set_weights(common.initial_weights(model))
        optimizer = keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    return model, optimizer


def outcome(losses, model):
    return {"loss": common.floats(losses),
            "weights_sum": float(sum(abs(w).sum() for w in model.get_weights()))}


def fit(name, scope_strategy):
    model, optimizer = new_model(scope_strategy)
    with scope_strategy.scope():
        model.compile(optimizer=optimizer, loss=LOSSES[name]("sum_over_batch_size"))
    history = model.fit(x, y, batch_size=GLOBAL_BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    return outcome(history.history["loss"], model)


def ctl(name, scope_strategy):
    model, optimizer = new_model(scope_strategy)
    with scope_strategy.scope():
        optimizer.build(model.trainable_variables)  # its slots, before the traced step
    per_sample = LOSSES[name]("none")
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH).with_options(options)
    batches = scope_strategy.experimental_distribute_dataset(dataset)

    @tf.function
    def step(xb, yb):
        def replica_step(xb, yb):
            with tf.GradientTape() as tape:
                loss = tf.nn.compute_average_loss(per_sample(yb, model(xb, training=True)),
                                                  global_batch_size=GLOBAL_BATCH)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        losses = scope_strategy.run(replica_step, args=(xb, yb))
        return scope_strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)

    history = []
    for _ in range(EPOCHS):
        total, steps = 0.0, 0
        for xb, yb in batches:
            total += float(step(xb, yb))
            steps += 1
        history.append(total / steps)
    return outcome(history, model)


TRAIN = {"fit": fit, "ctl": ctl}


def train_all(scope_strategy):
    return {f"{run} {name}": TRAIN[run](name, scope_strategy) for run in RUNS for name in LOSSES}


result = {"mode": MODE, "keras": keras.__name__,
          "task": os.environ.get("TF_CONFIG", "")}
if strategy is not None:
    result["replicas"] = int(strategy.num_replicas_in_sync)
    result["devices"] = list(getattr(strategy.extended, "worker_devices", ()))
    result["distributed"] = train_all(strategy)
if MODE != "multiworker":
    result["single"] = train_all(tf.distribute.get_strategy())
common.emit(result)
