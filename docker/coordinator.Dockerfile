# Coordinator image: the LibTorch-free `ablate` binary (server + CLI) on Debian 12.
#   docker build -f docker/coordinator.Dockerfile -t ablate-coordinator .
#   docker run -p 50051:50051 -p 8080:8080 -v ablate-data:/data \
#       -v /etc/ablate:/etc/ablate:ro ablate-coordinator
# The default arguments (CMD) need the token file /etc/ablate/tokens.txt (docs/security.md);
# without it the server exits naming the file. Arguments after the image name replace CMD, so
# they must bring their own --auth-tokens (or --insecure, for a network that is yours alone).
FROM debian:12 AS build
WORKDIR /src
COPY scripts/setup.sh scripts/setup.sh
RUN bash scripts/setup.sh coordinator
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DABLATE_BUILD_DETECTOR=OFF \
 && cmake --build build --target ablate

FROM debian:12-slim
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      libgrpc++1.51 libprotobuf32 libsqlite3-0 libyaml-cpp0.7 \
      libtbb12 libssl3 libcpp-httplib0.11 libsimdjson14 libabsl20220623 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/bin/ablate /usr/local/bin/ablate
VOLUME /data
EXPOSE 50051 8080
ENTRYPOINT ["ablate", "server", "--db", "/data/ablate.db", "--listen", "0.0.0.0:50051"]
CMD ["--auth-tokens", "/etc/ablate/tokens.txt", "--http", "0.0.0.0:8080"]
