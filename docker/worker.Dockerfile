# Worker image: the `ablate` daemon plus `ablate-train` built against a CUDA LibTorch 2.x.
#
# Debian's libtorch-dev is CPU-only, so the GPU image swaps in the official CUDA LibTorch
# (cxx11 ABI) and keeps every other dependency from Debian 12, exactly like the CPU build. The
# code picks the device at run time (torch::cuda::is_available()), so the same sources serve both.
#
#   docker build -f docker/worker.Dockerfile -t ablate-worker .
#   docker run --gpus all ablate-worker --server coordinator:50051 --slots 1 --device cuda:0
#
# Not built in CI (no Docker engine there); the CPU path of the same code is what CI tests.
ARG LIBTORCH_URL=https://download.pytorch.org/libtorch/cu121/libtorch-cxx11-abi-shared-with-deps-2.3.1%2Bcu121.zip

FROM debian:12 AS build
ARG LIBTORCH_URL
WORKDIR /src
COPY scripts/setup.sh scripts/setup.sh
RUN bash scripts/setup.sh coordinator \
 && apt-get install -y -qq --no-install-recommends libopencv-dev curl unzip ca-certificates \
 && curl -fsSL "$LIBTORCH_URL" -o /tmp/libtorch.zip && unzip -q /tmp/libtorch.zip -d /opt \
 && rm /tmp/libtorch.zip
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=/opt/libtorch \
 && cmake --build build --target ablate ablate-train

# The "shared-with-deps" LibTorch bundles the CUDA runtime, cuBLAS and cuDNN; only the driver
# comes from the host (NVIDIA container toolkit: `--gpus all`). So the runtime stays Debian 12,
# the same ABI the binaries were built against.
FROM debian:12-slim
ENV NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      libgrpc++1.51 libprotobuf32 libsqlite3-0 libyaml-cpp0.7 \
      libopencv-core406 libopencv-imgproc406 libopencv-imgcodecs406 libtbb12 libssl3 \
      libgomp1 libcpp-httplib0.11 libsimdjson14 libabsl20220623 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/libtorch/lib /opt/libtorch/lib
COPY --from=build /src/build/bin/ablate /src/build/bin/ablate-train /usr/local/bin/
ENV LD_LIBRARY_PATH=/opt/libtorch/lib
ENTRYPOINT ["ablate", "worker"]
