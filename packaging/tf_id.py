"""Which TensorFlow `make` would build the op against, printed without
importing it (make runs this on every build, and importing TensorFlow takes
seconds): the interpreter, TensorFlow's folder and the size and time of its
main files, so that installing any other TensorFlow (another version, or the
same one again) changes the output. make rewrites $(BUILD)/tf_id.txt only
when it changes; then it asks TensorFlow itself for its flags and version
(tf_flags.sh), and the op is rebuilt only if those changed."""

import importlib.util
import os
import sys

print("python", sys.executable, sys.implementation.cache_tag)
spec = importlib.util.find_spec("tensorflow")
if spec is None or not spec.submodule_search_locations:
    print("tensorflow none")
    sys.exit(0)
folder = os.path.realpath(list(spec.submodule_search_locations)[0])
print("tensorflow", folder)
for name in ("__init__.py", "libtensorflow_framework.so.2", "libtensorflow_cc.so.2"):
    try:
        st = os.stat(os.path.join(folder, name))
    except OSError:
        print(name, "none")
    else:
        print(name, st.st_size, st.st_mtime_ns)
site = os.path.dirname(folder)
print("dists", *sorted(d for d in os.listdir(site)
                       if d.endswith(".dist-info") and d.lower().startswith(("tensorflow", "tf_nightly"))))
