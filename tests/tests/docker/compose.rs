//! `docker-compose.yml` as compose reads it (anchors and `<<` merges applied): per service
//! its image or build, command, environment, volumes, published ports, `depends_on`
//! conditions and healthcheck; and the order compose starts them in.

use std::collections::BTreeMap;
use std::path::Path;

use serde_norway::Value;

#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    /// `image:` when the service is not built from the Dockerfile.
    pub image: Option<String>,
    pub built: bool,
    pub command: Option<Vec<String>>,
    pub environment: Vec<(String, String)>,
    /// (named volume or host path, container path, read-only)
    pub volumes: Vec<(String, String, bool)>,
    /// (host ip, host port, container port)
    pub ports: Vec<(String, u16, u16)>,
    pub depends_on: Vec<(String, String)>,
    /// The healthcheck as argv (`CMD-SHELL` becomes `sh -c …`).
    pub healthcheck: Option<Vec<String>>,
}

pub fn load(path: &Path) -> Vec<Service> {
    let text = std::fs::read_to_string(path).expect("read docker-compose.yml");
    let mut value: Value = serde_norway::from_str(&text).expect("docker-compose.yml is YAML");
    value.apply_merge().expect("merge keys");
    let services = value["services"].as_mapping().expect("services");
    services
        .iter()
        .map(|(name, service)| parse_service(name.as_str().expect("service name"), service))
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .map(|seq| seq.iter().map(scalar).collect())
        .unwrap_or_default()
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        other => panic!("not a scalar: {other:?}"),
    }
}

fn parse_service(name: &str, service: &Value) -> Service {
    let command = match &service["command"] {
        Value::Null => None,
        Value::Sequence(_) => Some(strings(&service["command"])),
        other => panic!("{name}: command must be a list (exec form), not {other:?}"),
    };
    let environment = match &service["environment"] {
        Value::Mapping(map) => map.iter().map(|(k, v)| (scalar(k), scalar(v))).collect(),
        Value::Null => Vec::new(),
        other => panic!("{name}: environment must be a mapping, not {other:?}"),
    };
    let volumes = strings(&service["volumes"])
        .iter()
        .map(
            |spec| match spec.split(':').collect::<Vec<_>>().as_slice() {
                [source, target] => ((*source).to_owned(), (*target).to_owned(), false),
                [source, target, "ro"] => ((*source).to_owned(), (*target).to_owned(), true),
                _ => panic!("{name}: volume {spec} is not simulated"),
            },
        )
        .collect();
    let ports = strings(&service["ports"])
        .iter()
        .map(
            |spec| match spec.split(':').collect::<Vec<_>>().as_slice() {
                [ip, host, container] => (
                    (*ip).to_owned(),
                    host.parse().expect("host port"),
                    container.parse().expect("container port"),
                ),
                _ => panic!("{name}: publish ports as IP:HOST:CONTAINER, not {spec}"),
            },
        )
        .collect();
    let depends_on = match &service["depends_on"] {
        Value::Mapping(map) => map
            .iter()
            .map(|(dep, spec)| (scalar(dep), scalar(&spec["condition"])))
            .collect(),
        Value::Sequence(_) => strings(&service["depends_on"])
            .into_iter()
            .map(|dep| (dep, "service_started".to_owned()))
            .collect(),
        _ => Vec::new(),
    };
    let test = strings(&service["healthcheck"]["test"]);
    let healthcheck = match test.split_first() {
        None => None,
        Some((kind, rest)) if kind == "CMD" => Some(rest.to_vec()),
        Some((kind, [script])) if kind == "CMD-SHELL" => {
            Some(vec!["sh".into(), "-c".into(), script.clone()])
        }
        Some(_) => panic!("{name}: healthcheck test {test:?} is not simulated"),
    };
    Service {
        name: name.to_owned(),
        image: service["image"].as_str().map(str::to_owned),
        built: !service["build"].is_null(),
        command,
        environment,
        volumes,
        ports,
        depends_on,
        healthcheck,
    }
}

/// Compose's start order: every service after the ones it depends on.
pub fn start_order(services: &[Service]) -> Vec<Service> {
    let by_name: BTreeMap<&str, &Service> = services.iter().map(|s| (s.name.as_str(), s)).collect();
    let mut order: Vec<Service> = Vec::new();
    fn visit<'a>(
        name: &'a str,
        by_name: &BTreeMap<&'a str, &'a Service>,
        order: &mut Vec<Service>,
        path: &mut Vec<&'a str>,
    ) {
        if order.iter().any(|s| s.name == name) {
            return;
        }
        assert!(!path.contains(&name), "depends_on cycle through {name}");
        let service = by_name
            .get(name)
            .unwrap_or_else(|| panic!("depends_on names unknown service {name}"));
        path.push(name);
        for (dep, _) in &service.depends_on {
            visit(dep, by_name, order, path);
        }
        path.pop();
        order.push((*service).clone());
    }
    for service in services {
        visit(&service.name, &by_name, &mut order, &mut Vec::new());
    }
    order
}
