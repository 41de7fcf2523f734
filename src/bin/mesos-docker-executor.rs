//! `mesos-docker-executor`: the executor the Docker containerizer launches
//! for command tasks whose `ContainerInfo` is `DOCKER`. It runs the task as
//! the Docker container `--container` and exits 0 once its terminal update
//! is acknowledged (see `mesos::executor::docker`).

fn main() {
    std::process::exit(mesos::executor::docker::main());
}
